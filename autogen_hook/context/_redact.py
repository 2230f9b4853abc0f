"""Secrets never leave the machine: every text from the user's code passes through here.

Two kinds of rules. Well-known key formats (provider API keys, cloud access
keys, private key blocks, JWTs, passwords in connection strings) are replaced
wherever they appear. String literals assigned to names that look like secrets
(``api_key = "..."``, ``"password": "..."``) are replaced whatever they hold.

A replacement is a visible placeholder such as ``[REDACTED openai-key]`` put
where the secret was, inside its quotes, and a secret spanning lines keeps its
line breaks, so the code keeps its shape and its line numbers and still parses.
The rules err on the side of redacting: a false positive costs the model one
literal, a false negative leaks a credential.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from re import Match

PLACEHOLDER = "[REDACTED {kind}]"
_PLACEHOLDERS = re.compile(r"\[REDACTED [a-z\-]+\]")

# (kind, literals, pattern): the pattern runs only on a text holding one of its literals (a
# substring search is ~100x cheaper than a regex pass); the whole match is the secret unless the
# pattern has a group named "secret".
_FORMATS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (kind, literals, re.compile(pattern))
    for kind, literals, pattern in (
        (
            "private-key", ("PRIVATE KEY",),
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]*)",
        ),
        ("anthropic-key", ("sk-ant-",), r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
        ("openai-key", ("sk-",), r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
        ("stripe-key", ("_live_", "_test_", "whsec_"), r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{16,}"),
        ("aws-access-key", ("AKIA", "ASIA", "ABIA", "ACCA"), r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        ("github-token", ("gh", "github_pat_"), r"\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"),
        ("gitlab-token", ("glpat-",), r"\bglpat-[A-Za-z0-9_\-]{20,}"),
        ("slack-token", ("xox",), r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
        ("slack-webhook", ("hooks.slack.com",), r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+"),
        ("google-api-key", ("AIza",), r"\bAIza[0-9A-Za-z_\-]{35}"),
        ("huggingface-token", ("hf_",), r"\bhf_[A-Za-z0-9]{30,}"),
        ("sendgrid-key", ("SG.",), r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
        ("jwt", ("eyJ",), r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
        ("password", ("://",), r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"]*:(?P<secret>[^\s@/'\"]+)@"),
        ("token", ("earer", "EARER"), r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=\-]{20,})"),
    )
)

_SECRET_WORD = re.compile(  # searched in the lower-cased text: much faster than (?i)
    r"key|token|secret|passw|pwd|passphrase|credential|auth(?!or)|private|dsn|salt|cookie"
)
# name [: annotation] (= | := | :) [prefix]"value" -- Python, JS/TS, Go, dicts, JSON, kwargs.
_ASSIGNED_LITERAL = re.compile(
    r"(?P<name>\b[A-Za-z_][A-Za-z0-9_.\-]*)[\"']?\s*"
    r"(?::\s*[A-Za-z_][\w\[\], .|]*?\s*)?(?::=|=|:)\s*[rRbBuUfF]{0,2}"
    r"(?:\"\"\"(?P<v1>[\s\S]+?)\"\"\"|'''(?P<v2>[\s\S]+?)'''"
    r"|\"(?P<v3>(?:[^\"\\\n]|\\.)+)\"|'(?P<v4>(?:[^'\\\n]|\\.)+)'|`(?P<v5>[^`]+)`)"
)
_VALUE_GROUPS = ("v1", "v2", "v3", "v4", "v5")


def redact(text: str, *, assignments: bool = True) -> str:
    """``text`` with secrets replaced; ``assignments=False`` applies only the format rules."""
    for kind, literals, pattern in _FORMATS:
        if any(literal in text for literal in literals):
            group = "secret" if "secret" in pattern.groupindex else 0
            text = pattern.sub(_replacer(kind, group), text)
    return _redact_assignments(text) if assignments else text


def _redact_assignments(text: str) -> str:
    """Literals assigned to secret-looking names, tried only where such a name occurs."""
    pieces: list[str] = []
    done = 0
    for hit in _SECRET_WORD.finditer(text.lower()):
        start = hit.start()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
            start -= 1
        match = _ASSIGNED_LITERAL.match(text, start) if start >= done else None
        if match is not None and match.end("name") >= hit.end():
            pieces += [text[done : match.start()], _assigned(match)]
            done = match.end()
    return "".join(pieces) + text[done:]


def count_redactions(text: str) -> int:
    """How many placeholders ``text`` shows."""
    return len(_PLACEHOLDERS.findall(text))


def _assigned(match: Match[str]) -> str:
    group = next(g for g in _VALUE_GROUPS if match.group(g) is not None)
    value = match.group(group)
    if _PLACEHOLDERS.match(value):
        return match.group(0)
    return _replace(match, "secret", match.span(group))


def _replacer(kind: str, group: int | str) -> Callable[[Match[str]], str]:
    """A ``re.sub`` callback that hides ``group`` of each match as a ``kind`` secret."""
    return lambda match: _replace(match, kind, match.span(group))


def _replace(match: Match[str], kind: str, span: tuple[int, int]) -> str:
    """The match with ``span`` (the secret) replaced, keeping the secret's line breaks."""
    start, end = span
    whole, offset = match.group(0), match.start()
    replacement = PLACEHOLDER.format(kind=kind) + "\n" * match.string.count("\n", start, end)
    return whole[: start - offset] + replacement + whole[end - offset :]
