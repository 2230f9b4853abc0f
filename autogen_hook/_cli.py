"""The ``autogen-hook`` command."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
from collections.abc import Sequence

from ._settings import Settings
from ._version import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autogen-hook",
        description=(
            "Generate Python modules on import: `from autogen.x import fn` asks an LLM for "
            "autogen.x, validates it and stores it as reviewable source in .autogen/."
        ),
        epilog="Settings: [tool.autogen-hook] in pyproject.toml, AUTOGEN_HOOK_* variables, "
        "or autogen_hook.install(...). See the README.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    context = commands.add_parser(
        "context",
        help="print the context a generation would send, with its token estimate",
        description="Print the user message that generating MODULE would send: the caller's "
        "uses, the ranked project code and the installed packages, with secrets redacted. "
        "Nothing is sent anywhere.",
    )
    context.add_argument("module", help="the module to generate, e.g. autogen.pricing")
    context.add_argument("--names", required=True, help="comma-separated names, e.g. total_price,Money")
    context.add_argument("--file", help="the file that imports them (default: none)")
    context.add_argument("--budget", type=int, help="token budget (default: the context-budget setting)")
    context.add_argument(
        "--show-redactions", action="store_true",
        help="list what was redacted and why: file, line, placeholder and rule (never the secret)",
    )
    context.set_defaults(command_parser=context)  # errors show the subcommand's usage
    doctor = commands.add_parser(
        "doctor",
        help="show the import check's sandbox layers here and probe each guarantee",
        description="Show which layers of the import check's sandbox this platform offers, and "
        "run a real sandboxed check that tries to connect to 127.0.0.1, write outside its "
        "directory, read a file in your home, fork, read a credential and exceed its memory. "
        "Exit status 0 when every guarantee held, 1 otherwise.",
    )
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    _add_accept(commands)
    _add_audit(commands)
    return parser


def _add_accept(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    accept = commands.add_parser(
        "accept",
        help="accept stored modules after review, so that the review setting lets them run",
        description="Show each module (and what changed since it was last accepted), ask, and "
        "record the accepted version's SHA-256 in the store's accepted.json (commit it). "
        "Exit status 0 when every module is accepted, 1 otherwise, 2 when nobody can be asked.",
    )
    accept.add_argument("modules", nargs="*", metavar="MODULE", help="e.g. autogen.textutils")
    accept.add_argument("--all", action="store_true", help="every stored module not accepted yet")
    accept.add_argument("--yes", action="store_true",
                        help="accept without asking, listing each module accepted (for scripts)")

    def run(args: argparse.Namespace) -> int:
        if bool(args.modules) == args.all:
            accept.error("name the modules to accept, or pass --all (not both)")
        from ._review import command

        return command(args, _settings_here(accept))

    accept.set_defaults(run=run)


def _add_audit(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser(
        "audit",
        help="print the store's audit log: every generation, rejection, acceptance, failure",
        description="Print .autogen/audit.jsonl (after the rotated audit.1.jsonl), oldest first.",
    )
    audit.add_argument("--json", action="store_true", help="print the lines as JSON, as stored")

    def run(args: argparse.Namespace) -> int:
        from ._audit import command

        return command(args, _settings_here(audit).store_dir)

    audit.set_defaults(run=run)


def _settings_here(parser: argparse.ArgumentParser) -> Settings:
    """The settings of the project the current directory is in."""
    from ._errors import SettingsError
    from ._settings import project_root_of, resolve

    try:
        return resolve(project_root_of(os.getcwd()))
    except SettingsError as exc:
        parser.error(str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "context":
        return _context(args.command_parser, args)
    if args.command == "doctor":
        return _doctor(args)
    if hasattr(args, "run"):
        return int(args.run(args))
    parser.print_help()
    return 0


def _context(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Build the request an import would make, collect its context and print the message."""
    from dataclasses import replace

    from ._errors import ExampleError, SettingsError
    from ._grants import grants_for, packages_for
    from ._names import module_problem, names_problem
    from ._prompt import build_messages
    from ._request import CallerSite, Request
    from ._settings import FIELDS, project_root_of, resolve
    from ._spec_sources import gather
    from ._store import Store
    from .context import collect, estimate_tokens, redaction_report
    from .context._redact import redact

    names = tuple(n.strip() for n in args.names.split(",") if n.strip())
    if not names:
        parser.error(f"--names: expected public Python names separated by commas, got {args.names!r}")
    source = _read(parser, args.file) if args.file else None
    directory = os.path.dirname(os.path.abspath(args.file)) if args.file else os.getcwd()
    try:
        overrides: dict[str, object] = {}
        if args.budget is not None:  # checked here, so that an error names the option
            overrides["context_budget"] = FIELDS["context_budget"][0](args.budget, "--budget")
        settings = resolve(project_root_of(directory), overrides)
    except SettingsError as exc:
        parser.error(str(exc))
    problem = module_problem(args.module, settings.namespace)
    if problem is not None:
        parser.error(f"module: {problem}")
    problem = names_problem(args.module, names)
    if problem is not None:
        parser.error(f"--names: {problem}")
    if source is None:
        caller = CallerSite("<command line>", 1, f"from {args.module} import {', '.join(names)}")
    else:
        caller = CallerSite(os.path.abspath(args.file), _import_line(source, args.module), "", source)
    request = Request(args.module, names, settings.descriptions.get(args.module), caller)
    try:
        grants = grants_for(args.module, settings)
    except SettingsError as exc:
        parser.error(str(exc))
    try:
        behaviour = gather(request, settings, Store(settings.store_dir), set())
    except ExampleError as exc:
        parser.error(str(exc))
    context = replace(collect(request, settings), packages=packages_for(args.module, settings))
    examples = [redact(e.text) for e in behaviour.shown]
    message = build_messages(context, settings.namespace, grants, examples)[-1].content
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


def _doctor(args: argparse.Namespace) -> int:
    """Probe the sandbox with a real check; 0 when every guarantee held."""
    import json

    from ._doctor import diagnose

    diagnosis = diagnose()
    print(json.dumps(diagnosis.as_json(), indent=2) if args.json else diagnosis.text())
    return 0 if diagnosis.enforced else 1


def _read(parser: argparse.ArgumentParser, path: str) -> str:
    """The file's source decoded as Python decodes it (PEP 263 coding cookie, BOM, newlines)."""
    try:
        with open(path, "rb") as f:
            return importlib.util.decode_source(f.read())
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        parser.error(f"--file: cannot read {path}: {exc}")
    raise AssertionError  # unreachable: parser.error exits


def _import_line(source: str, module: str) -> int:
    """Line of the first statement importing ``module`` (1 if there is none)."""
    pattern = re.compile(rf"^\s*(from\s+{re.escape(module)}\s+import|import\s+{re.escape(module)}\b)", re.M)
    found = pattern.search(source)
    return source.count("\n", 0, found.start()) + 1 if found else 1
