"""Commands that generate, or show what generating would send: regenerate, repair, warm,
prompt, context, stubs."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from typing import TYPE_CHECKING

from ._common import (
    command,
    module_name,
    names_of,
    print_json,
    project_root,
    settings_of,
    stored,
    table,
    usage_error,
)

if TYPE_CHECKING:
    from .._request import Request
    from .._settings import Settings
    from .._validate import Behaviour, Grants

ON_PURPOSE = "asked for on purpose (autogen-hook regenerate), without a reason"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    regenerate = command(commands, "regenerate", _regenerate, "ask the model again for a stored module",
                         "Generate MODULE again on purpose: the prompt carries its current source, the hint "
                         "and the first file that uses it; every public name it defines is kept. The "
                         "replaced version stays in the history (diff, rollback).")
    regenerate.add_argument("module", help="the module, e.g. autogen.pricing")
    regenerate.add_argument("--names", help="the names it must define, comma-separated "
                            "(default: every public name it defines now)")
    regenerate.add_argument("--hint", help='what to change, e.g. "keep whole words"')
    regenerate.add_argument("--until-pass", nargs="+", metavar="TEST",
                            help="pytest tests (path::name, or a file: all its tests) that must pass: their "
                            "asserts are examples, and regeneration goes on until they pass (at most "
                            "max-attempts rounds), else the version stored before is restored")
    repair = command(commands, "repair", _repair, "ask the model to fix a stored module, given its traceback",
                     "Generate MODULE again to fix the failure a traceback shows (what repair = true does "
                     "when an exception escapes one of its functions): the traceback (redacted, capped) is "
                     "the reason, the new version goes through the whole validation, examples included, "
                     "and the replaced one stays in the history. Exit status 1 if the module is not "
                     "stored or no fix passed.")
    repair.add_argument("module", help="the module, e.g. autogen.pricing")
    repair.add_argument("--traceback", required=True, metavar="FILE", help="a file holding the traceback")
    repair.add_argument("--hint", help="what else to say about the fix")
    warm = command(commands, "warm", _warm, "generate every module the codebase uses that the store lacks",
                   "Scan PATHS (default: the whole project) for every import from the namespace and "
                   "every use of a namespace module's attributes, and generate what the store lacks, "
                   "concurrently (the concurrency setting): the names one file uses from one module in "
                   "one request. Ends with a summary; exit status 1 if any module failed.")
    warm.add_argument("paths", nargs="*", metavar="PATHS", help="files or directories to scan")
    warm.add_argument("--stale", action="store_true", help="also regenerate the used modules that are stale")
    warm.add_argument("--tests", nargs="+", metavar="PATH",
                      help="warm from the pytest files under PATH instead: generate what they use, their "
                      "asserts as examples, then regenerate each module until its tests pass (or restore it)")
    prompt = command(commands, "prompt", _prompt, "print every message an import would send, without sending it",
                     "Print the messages that importing NAMES from MODULE would send (the system message "
                     "included): the caller's uses, the project's code and, for an extension, the stored "
                     "source, with secrets redacted. Nothing is sent anywhere.")
    _request_arguments(prompt)
    context = command(commands, "context", _context, "print the context a generation would send, with its token estimate",
                      "Print the user message that generating MODULE would send: the caller's uses, the "
                      "ranked project code and the installed packages, with secrets redacted, then its "
                      "token estimate, files and redactions. Nothing is sent anywhere.", json_output=False)
    _request_arguments(context)
    context.add_argument("--budget", type=int, help="token budget (default: the context-budget setting)")
    context.add_argument(
        "--show-redactions", action="store_true",
        help="list what was redacted and why: file, line, placeholder and rule (never the secret)",
    )
    command(commands, "stubs", _stubs, "write type stubs of the stored modules for mypy and Pyright",
            "Write <store>/.stubs/: a stub package of every stored module's signatures, so that mypy "
            "(mypy_path) and Pyright (stubPath) resolve `from autogen.x import f`.")


def _request_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("module", help="the module to generate, e.g. autogen.pricing")
    parser.add_argument("--names", required=True, help="comma-separated names, e.g. total_price,Money")
    parser.add_argument("--file", help="the file that imports them (default: none)")


def _regenerate(args: argparse.Namespace) -> int:
    if args.until_pass:
        from ._test_commands import regenerate_until_pass

        return regenerate_until_pass(args, args.hint or ON_PURPOSE, _refresh_stubs)
    from .. import _history
    from .._regenerate import regenerate

    settings = settings_of(args)
    module = module_name(args, settings)
    before = len(_history.versions(settings.store_dir, module))
    result = regenerate(module, names_of(args, module) or None, args.hint or ON_PURPOSE, settings=settings)
    _refresh_stubs(settings)
    kept = _history.versions(settings.store_dir, module)
    replaced = kept[-1].number if len(kept) > before else None  # none: nothing was stored before
    if args.json:
        print_json({"module": module, "path": result.path, "names": list(result.names), "provider": result.provider,
                    "model": result.model, "attempts": result.attempts, "replaced_version": replaced})
        return 0
    print(f"regenerated {module} ({result.provider}, {result.model}, {result.attempts} attempt(s)): "
          f"{os.path.relpath(result.path)}")
    if replaced is not None:
        print(f"the version it replaced is kept as version {replaced}: autogen-hook diff {module}")
    return 0


def _repair(args: argparse.Namespace) -> int:
    from .._repair import by_hand, repair, repaired_line

    settings = settings_of(args)
    module = module_name(args, settings)
    try:
        with open(args.traceback, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as exc:
        usage_error(args, f"--traceback: cannot read {args.traceback}: {exc.strerror or exc}")
    if not text.strip():
        usage_error(args, f"--traceback: {args.traceback} is empty")
    stored(settings, module)
    failure = by_hand(module, text)
    result, replaced = repair(module, failure, settings=settings, hint=args.hint)
    _refresh_stubs(settings)
    if args.json:
        print_json({"module": module, "path": result.path, "repair": failure.summary, "provider": result.provider,
                    "model": result.model, "attempts": result.attempts, "replaced_version": replaced})
        return 0
    print(f"{module}: " + repaired_line(module, result, replaced))
    return 0


def _warm(args: argparse.Namespace) -> int:
    if args.tests:
        from ._test_commands import warm_tests

        return warm_tests(args, _refresh_stubs)
    from .. import _runtime
    from .._inventory import stored_modules
    from .._progress import wanted
    from .._warm import warm
    from ..context._usage import scan
    from ._bar import Bar

    settings = settings_of(args)
    for path in args.paths:
        if not os.path.exists(path):
            usage_error(args, f"PATHS: {path} does not exist")
    scanned = scan(settings.project_root, settings.namespace, (settings.store_dir,), args.paths)
    uses = {m: u for m, u in scanned.by_module().items() if any(use.used for use in u)}
    stale = {m.module: "; ".join(reasons) for m in stored_modules(settings)
             if args.stale and m.module in uses and (reasons := m.stale(settings))}
    bar = Bar(len(uses)) if uses and wanted(settings.progress) and not args.json else None
    settings.progress = False  # the bar stands for the status line
    try:
        results = _runtime.run(warm(settings, uses, stale, lambda w: bar.done(w.outcome == "failed") if bar else None))
    finally:
        if bar is not None:
            bar.close()
    if any(r.outcome in ("generated", "refreshed") for r in results):
        _refresh_stubs(settings)
    counts = {o: sum(r.outcome == o for r in results) for o in ("generated", "refreshed", "stored", "failed")}
    if args.json:
        print_json({"modules": [r.__dict__ for r in results], "counts": counts,
                    "files": {"listed": scanned.files, "parsed": scanned.parsed}})
    else:
        _print_summary(results, counts, len({use.path for file_uses in uses.values() for use in file_uses}))
    return 1 if counts["failed"] else 0


def _print_summary(results: list, counts: dict[str, int], files: int) -> None:  # type: ignore[type-arg]
    if results:
        words = {"generated": "generated", "refreshed": "refreshed", "stored": "already stored", "failed": "failed"}
        print(table(("module", "result", "names", "used in", "reason"),
                    [(r.module, words[r.outcome], ", ".join(r.names), ", ".join(r.files), r.detail) for r in results],
                    widest=60))
    for failed in (r for r in results if r.outcome == "failed"):
        print(f"failed: {failed.module}: {failed.detail}")
    print(f"warm: {counts['generated']} generated, {counts['refreshed']} refreshed, {counts['stored']} already "
          f"stored, {counts['failed']} failed ({len(results)} modules used in {files} files)")


def _refresh_stubs(settings: Settings) -> None:
    """The stub package follows the store when the stubs setting asks for it."""
    if settings.stubs:
        from .._stubs import write_stubs

        write_stubs(settings)


def _stubs(args: argparse.Namespace) -> int:
    from .._stubs import stubs_dir, write_stubs

    settings = settings_of(args)
    written = write_stubs(settings)
    directory = stubs_dir(settings)
    if args.json:
        print_json({"directory": directory, "files": written})
        return 0
    relative = os.path.relpath(directory, settings.project_root)
    print(f"wrote {len(written)} stub files to {directory}\n"
          f"mypy:    [tool.mypy] mypy_path = \"{relative}\"\npyright: [tool.pyright] stubPath = \"{relative}\"")
    return 0


def _prompt(args: argparse.Namespace) -> int:
    from ..context import collect, estimate_tokens

    from .._pipeline import first_messages

    request, settings, grants, behaviour = _asked(args, {})
    context = collect(request, settings)
    messages = first_messages(context, settings, grants, behaviour)
    if args.json:
        print_json({"module": request.module, "names": list(request.names),
                    "messages": [{"role": m.role, "content": m.content} for m in messages],
                    "tokens": sum(estimate_tokens(m.content) for m in messages), "redactions": context.redactions})
        return 0
    for message in messages:
        print(f"=== {message.role} ===\n{message.content}\n")
    print(f"--- {len(messages)} messages, ~{sum(estimate_tokens(m.content) for m in messages)} tokens "
          f"(characters / 4); {context.redactions} redactions; nothing was sent")
    return 0


def _context(args: argparse.Namespace) -> int:
    """The user message of the request an import would make, and what went into it."""
    from .._pipeline import first_messages
    from .._settings import FIELDS
    from ..context import collect, estimate_tokens, redaction_report

    overrides: dict[str, object] = {}
    if args.budget is not None:  # checked here, so that an error names the option
        try:
            overrides["context_budget"] = FIELDS["context_budget"][0](args.budget, "--budget")
        except ValueError as exc:
            usage_error(args, str(exc))
    request, settings, grants, behaviour = _asked(args, overrides)
    context = collect(request, settings)
    message = first_messages(context, settings, grants, behaviour)[-1].content
    print(message)
    print("\n---")
    print(
        f"context: ~{context.tokens} tokens (estimate: characters / 4) of a budget of "
        f"{settings.context_budget}; whole message ~{estimate_tokens(message)} tokens"
    )
    print(f"files: {', '.join(context.files) or '(none)'}")
    print(f"redactions: {context.redactions}")
    if args.show_redactions:
        for line in redaction_report(context, request, settings.project_root):
            print(f"  {line}")
    if context.index is not None:
        print(f"index: {context.index.files} files, {context.index.parsed} parsed now")
    return 0


def _asked(args: argparse.Namespace, overrides: dict[str, object]) -> tuple[Request, Settings, Grants, Behaviour]:
    """The request an import of ``--names`` from MODULE in ``--file`` would make now, given the
    store (an extension carries the stored source), and the examples it would show; with every
    name stored, what regenerate would send."""
    from dataclasses import replace

    from .._errors import ExampleError, SettingsError
    from .._grants import grants_for
    from .._pipeline import generating, kept_names
    from .._spec_sources import gather
    from .._request import CallerSite, Request
    from .._settings import project_root_of, resolve
    from .._store import Store

    source = _read(args, args.file) if args.file else None
    try:
        if args.project:
            root = project_root(args)
        else:
            root = project_root_of(os.path.dirname(os.path.abspath(args.file)) if args.file else os.getcwd())
        settings = resolve(root, overrides)
    except SettingsError as exc:
        usage_error(args, str(exc))
    module = module_name(args, settings)
    names = names_of(args, module)
    if source is None:
        caller = CallerSite("<command line>", 1, f"from {module} import {', '.join(names)}")
    else:
        caller = CallerSite(os.path.abspath(args.file), _import_line(source, module), "", source)
    request = Request(module, names, settings.descriptions.get(module), caller)
    try:
        grants = grants_for(module, settings)
    except SettingsError as exc:
        usage_error(args, str(exc))
    existing = Store(settings.store_dir).read(module)
    planned = generating(request, existing)
    if existing is not None and not planned.names:
        print(f"autogen-hook: the store already has {', '.join(names)} in {module}, so an import sends "
              "nothing; this is what `autogen-hook regenerate` would send", file=sys.stderr)
        request = replace(request, regenerate=ON_PURPOSE)
        planned = generating(request, existing)
    try:
        behaviour = gather(planned, settings, Store(settings.store_dir), kept_names(request, existing))
    except ExampleError as exc:
        usage_error(args, str(exc))
    return planned, settings, grants, behaviour


def _read(args: argparse.Namespace, path: str) -> str:
    """The file's source decoded as Python decodes it (PEP 263 coding cookie, BOM, newlines)."""
    try:
        with open(path, "rb") as f:
            return importlib.util.decode_source(f.read())
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        usage_error(args, f"--file: cannot read {path}: {exc}")


def _import_line(source: str, module: str) -> int:
    """Line of the first statement importing ``module`` (1 if there is none)."""
    pattern = re.compile(rf"^\s*(from\s+{re.escape(module)}\s+import|import\s+{re.escape(module)}\b)", re.M)
    found = pattern.search(source)
    return source.count("\n", 0, found.start()) + 1 if found else 1
