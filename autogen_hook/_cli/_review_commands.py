"""Commands of review and the audit log: accept, audit."""

from __future__ import annotations

import argparse

from ._common import command, settings_of, usage_error


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    accept = command(
        commands, "accept", _accept,
        "accept stored modules after review, so that the review setting lets them run",
        "Show each module (and what changed since it was last accepted), ask, and record the "
        "accepted version's SHA-256 in the store's accepted.json (commit it). Exit status 0 when "
        "every module is accepted, 1 otherwise, 2 when nobody can be asked.",
        json_output=False,
    )
    accept.add_argument("modules", nargs="*", metavar="MODULE", help="e.g. autogen.textutils")
    accept.add_argument("--all", action="store_true", help="every stored module not accepted yet")
    accept.add_argument("--yes", action="store_true",
                        help="accept without asking, listing each module accepted (for scripts)")
    command(
        commands, "audit", _audit,
        "print the store's audit log: every generation, rejection, acceptance, failure",
        "Print .autogen/audit.jsonl (after the rotated audit.1.jsonl), oldest first; --json "
        "prints the lines as stored.",
    )


def _accept(args: argparse.Namespace) -> int:
    if bool(args.modules) == args.all:
        usage_error(args, "name the modules to accept, or pass --all (not both)")
    from .._review import command as accept

    return accept(args, settings_of(args))


def _audit(args: argparse.Namespace) -> int:
    from .._audit import command as audit

    return audit(args, settings_of(args).store_dir)
