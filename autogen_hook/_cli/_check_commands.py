"""Commands that judge a setup without generating anything: check, doctor, stats."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ._common import command, print_json, project_root, settings_of, size, table


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = command(commands, "check", _check, "check that the store serves the codebase (for CI)",
                    "For CI: every namespace import and attribute use in the codebase (or in PATHS) "
                    "resolves from the store; every stored module still passes validation (the static "
                    "checks and the sandboxed import check; no provider is contacted); each module's hash "
                    "matches its record or an edit marked with mark-edited. Stale and unused modules are "
                    "warnings (--strict: errors). Exit status 1 with what is wrong and what fixes each.")
    check.add_argument("paths", nargs="*", metavar="PATHS", help="files or directories to check (default: all)")
    check.add_argument("--strict", action="store_true", help="stale and unused modules are errors too")
    doctor = command(commands, "doctor", _doctor, "show the settings in effect, the project, the store and the sandbox",
                     "Show the settings in effect and where each came from, AUTOGEN_HOOK_* variables that "
                     "name no setting, the project root and why, the store and its size, the providers' "
                     "credentials (and with --online, one cheap request to each), namespace conflicts, and "
                     "the import check's sandbox: its layers and a real sandboxed check that tries what "
                     "each guarantee forbids. Exit status 0 when nothing is wrong.")
    doctor.add_argument("--online", action="store_true", help="send each provider one cheap request")
    command(commands, "stats", _stats, "generations, provider calls, failures, tokens and latency so far",
            "Figures from the store's records (every stored module and every version in the history) "
            "and, where the project keeps one, the audit log: generations, store hits, provider calls, "
            "failures by reason, tokens, mean and p95 latency.")


def _check(args: argparse.Namespace) -> int:
    from .._check import check

    settings = settings_of(args)
    report = check(settings, strict=args.strict, paths=args.paths)
    errors = [f for f in report.findings if f.level == "error"]
    warnings = [f for f in report.findings if f.level == "warning"]
    scanned = report.scanned
    modules = len({u.module for u in scanned.uses})
    if args.json:
        print_json({"ok": report.ok, "errors": len(errors), "warnings": len(warnings),
                    "findings": [f.as_json() for f in report.findings], "stored": report.stored,
                    "used_modules": modules, "files": {"listed": scanned.files, "parsed": scanned.parsed}})
        return 0 if report.ok else 1
    for finding in report.findings:
        print(f"{finding.level}: {finding.message}\n  fix: {finding.fix}")
    verdict = "ok" if report.ok else f"{len(errors)} error(s)"
    print(f"check: {verdict}, {len(warnings)} warning(s): {report.stored} stored modules, {modules} used "
          f"in {len({u.path for u in scanned.uses})} of {scanned.files} files")
    return 0 if report.ok else 1


def _doctor(args: argparse.Namespace) -> int:
    from .._doctor import diagnose
    from .._doctor_setup import inspect

    directory = os.path.abspath(args.project or os.getcwd())
    setup = inspect(directory, project_root(args), args.online)
    diagnosis = diagnose()
    problems = [*setup.problems]
    if not diagnosis.enforced:
        problems.append("the import check's sandbox does not enforce every guarantee here")
    verdict = ("ok: the settings, the project and the sandbox are in order" if not problems
               else f"{len(problems)} problem(s): {problems[0]}" + (" (and more above)" if len(problems) > 1 else ""))
    if args.json:
        print_json({**diagnosis.as_json(), **setup.as_json(), "problems": problems, "ok": not problems,
                    "verdict": verdict})
    else:
        print(_setup_text(setup))
        print(diagnosis.text())
        print(f"\nverdict: {verdict}")
    return 0 if not problems else 1


def _setup_text(setup: Any) -> str:
    lines = [f"project: {setup.root} ({setup.why})"]
    if setup.settings is not None:
        rows = [(name, _shown(entry["value"]), entry["source"], entry["where"] or "")
                for name, entry in setup.settings_table().items()]
        lines += ["", "settings in effect:", _indent(table(("setting", "value", "from", "where"), rows, widest=60))]
    if setup.unknown:
        lines += ["", "unknown AUTOGEN_HOOK_* variables (typos?):"]
        lines += [f"  {hint}" for hint in setup.unknown.values()]
    if setup.store:
        store = setup.store
        lines += ["", f"store: {store['path']}" + (
            f" ({store['modules']} modules, {size(store['module_bytes'])}; {size(store['bytes'])} in all)"
            if store["exists"] else " (not created yet)")]
    if setup.providers:
        lines += ["", "providers:"]
        for name, found in setup.providers.items():
            reach = {None: "", True: "; reachable", False: "; NOT reachable"}[found["reachable"]]
            detail = found["problem"] or found["detail"]
            lines.append(f"  {name}: credentials {found['credentials']}{reach}" + (f" ({detail})" if detail else ""))
    lines += ["", "namespace conflicts:" if setup.conflicts else "namespace conflicts: none"]
    lines += [f"  {conflict}" for conflict in setup.conflicts]
    for problem in setup.problems:
        if problem.startswith("settings: "):
            lines += ["", problem]
    return "\n".join(lines) + "\n"


def _shown(value: object) -> str:
    if isinstance(value, (list, dict)):
        return ", ".join(map(str, value)) if isinstance(value, list) else ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def _stats(args: argparse.Namespace) -> int:
    from .._stats import stats

    figures = stats(settings_of(args))
    if args.json:
        print_json(figures)
        return 0
    latency, tokens = figures["latency"], figures["tokens"]
    rows = [
        ("generations", figures["generations"]),
        ("provider calls", figures["provider_calls"]),
        ("tokens in / out", f"{tokens['input']} / {tokens['output']}"),
        ("latency mean / p95", "-" if latency["mean"] is None else f"{latency['mean']:.2f} s / {latency['p95']:.2f} s"),
    ]
    rows += [(f"failures: {why}", count) for why, count in figures["failures"].items()]
    rows += [(f"by {model}", count) for model, count in figures["models"].items()]
    if figures["review"] is not None:
        rows.append(("review: accepted / refused", f"{figures['review']['accepted']} / {figures['review']['refused']}"))
    print(table(("figure", "value"), rows, widest=70))
    if figures["audit"] is None:
        print("(no audit log: generations that stored nothing are not counted)")
    print("(store hits are not recorded on disk: autogen_hook.stats() counts them in a process)")
    return 0
