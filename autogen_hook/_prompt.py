"""The messages sent to the model: the request, its context, and on a retry the problem."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence

from ._plugins import PluginTarget, transform_messages
from ._validate import Grants
from ._validate._capabilities import CAPABILITIES
from .context import Context
from .providers import Message

_SYSTEM = """\
You write Python modules for autogen-hook, which creates a module the first time \
code imports it. Reply with the complete module in a single ```python code block.

Rules for the module:
- Define every requested name at module level, with type hints and a short docstring.
- Fit how the caller uses each name: the arguments it passes and what it does with the result.
- Use only the Python {version} standard library and the third-party packages listed.
- Importing the module must only define things: constants, functions and classes (tables \
built by pure loops or comprehensions are fine); no module-level calls that act, printing, \
I/O or network access.
- Do not import from the `{namespace}` namespace; put helpers in this module with a \
leading underscore.
- A capability policy checks the module, function bodies included. {granted} Without a \
grant, do not use: {denied}."""
REJECTED = "That module was rejected:"  # how a retry's last message begins
REPLY_CAP = 24_000  # characters of the last reply a retry sends back (a reply can be megabytes)
EXAMPLES_CAP = 6_000  # characters of examples listed (all of them are checked)


def build_messages(
    context: Context, namespace: str, grants: Grants, examples: Sequence[str] = ()
) -> tuple[Message, ...]:
    """The first messages of a generation: instructions, then the (redacted) request in context
    and the (redacted) examples the module must pass; then what the prompt plugins make of them."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    granted = sorted(grants.capabilities | grants.names)
    system = _SYSTEM.format(
        version=version,
        namespace=namespace,
        granted=f"Granted to this module: {', '.join(granted)}." if granted else "Nothing is granted.",
        denied="; ".join(
            f"{name} ({what})" for name, what in CAPABILITIES.items() if name not in grants.capabilities
        ),
    )
    messages = (Message("system", system), Message("user", _request_text(context, examples)))
    return transform_messages(messages, PluginTarget(context.request.module, context.request.names))


def retry_messages(
    messages: tuple[Message, ...], reply: str | None, problem: str
) -> tuple[Message, ...]:
    """The next attempt's conversation: the first messages, the last rejected reply (capped;
    None leaves it out) and exactly what was wrong."""
    answer: tuple[Message, ...] = ()
    if reply is not None:
        if len(reply) > REPLY_CAP:
            reply = reply[:REPLY_CAP] + f"\n[... {len(reply) - REPLY_CAP} more characters cut]"
        answer = (Message("assistant", reply),)
    return (
        *messages,
        *answer,
        Message(
            "user",
            f"{REJECTED}\n{problem}\n\n"
            "Fix this and reply with the complete corrected module in one ```python block.",
        ),
    )


def digest(messages: tuple[Message, ...]) -> str:
    """A stable fingerprint of a prompt, recorded with the module."""
    payload = json.dumps([[m.role, m.content] for m in messages], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _request_text(context: Context, examples: Sequence[str]) -> str:
    """The user message; between the statement and the packages, the context's budgeted
    sections, then the examples."""
    request = context.request
    existing = request.existing_source
    names = ", ".join(request.names) or "(none named: write what the description asks for)"
    verb = "Regenerate" if existing and request.regenerate else "Extend" if existing else "Write"
    parts = [f"{verb} the module `{request.module}`.", f"Requested names: {names}"]
    if request.description:
        parts.append(f"What the module is for:\n{request.description.strip()}")
    if existing and request.regenerate:
        parts.append(f"Why it is written again:\n{request.regenerate.strip()}")
    caller = request.caller
    if caller is not None and caller.statement:
        what = "The importing statement" if caller.imports else "The line that uses the module"
        parts.append(
            f"{what} ({context.caller_name}, line {caller.lineno}):\n" + _indent(caller.statement)
        )
    parts += context.sections()
    if request.extra_context:
        parts.append(f"More context:\n{request.extra_context.strip()}")
    if examples:
        parts.append(_examples_section(examples))
    packages = ", ".join(context.packages) or "(none: use the standard library only)"
    parts.append(f"Third-party packages you may import: {packages}")
    if existing and request.regenerate:
        parts.append(
            "The current module follows. Write it again: keep every public name it defines, with "
            "signatures its callers can keep using, change what the reason above asks for, and "
            f"reply with the whole module:\n```python\n{existing.rstrip()}\n```"
        )
    elif existing:
        parts.append(
            "The module already exists. Keep every existing name working exactly as it is, add "
            "the requested names, and reply with the whole module:\n```python\n"
            f"{existing.rstrip()}\n```"
        )
    return "\n\n".join(parts)


def _examples_section(examples: Sequence[str]) -> str:
    """Every example is run against the module before it is accepted: the clearest spec there is."""
    shown: list[str] = []
    size = 0
    for example in examples:
        size += len(example)
        if size > EXAMPLES_CAP and shown:
            shown.append(f"... and {len(examples) - len(shown)} more, checked too")
            break
        shown.append(_indent(example))
    return (
        "Examples the module must satisfy (each is run against the module before it is accepted: an "
        "expression or assert must be true, a `>>>` line must print what follows it):\n" + "\n".join(shown)
    )


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
