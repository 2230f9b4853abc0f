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
from re import Match

PLACEHOLDER = "[REDACTED {kind}]"
_PLACEHOLDERS = re.compile(r"\[REDACTED [a-z\-]+\]")

# (kind, pattern): the whole match is the secret unless the pattern has a group named "secret".
_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (
            "private-key",
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]*)",
        ),
        ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
        ("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
        ("stripe-key", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{16,}"),
        ("aws-access-key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        ("github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"),
        ("gitlab-token", r"\bglpat-[A-Za-z0-9_\-]{20,}"),
        ("slack-token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
        ("slack-webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+"),
        ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}"),
        ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}"),
        ("sendgrid-key", r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
        ("jwt", r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
        ("password", r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"]*:(?P<secret>[^\s@/'\"]+)@"),
        ("token", r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=\-]{20,})"),
    )
)

_SECRET_NAME = re.compile(
    r"(?i)key|token|secret|passw|pwd|passphrase|credential|auth(?!or)|private|dsn|salt|cookie"
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
    for kind, pattern in _FORMATS:
        group = "secret" if "secret" in pattern.groupindex else 0
        text = pattern.sub(lambda m, k=kind, g=group: _replace(m, k, m.span(g)), text)
    if assignments:
        text = _ASSIGNED_LITERAL.sub(_assigned, text)
    return text


def count_redactions(text: str) -> int:
    """How many placeholders ``text`` shows."""
    return len(_PLACEHOLDERS.findall(text))


def _assigned(match: Match[str]) -> str:
    group = next(g for g in _VALUE_GROUPS if match.group(g) is not None)
    value = match.group(group)
    if not _SECRET_NAME.search(match.group("name")) or _PLACEHOLDERS.match(value):
        return match.group(0)
    return _replace(match, "secret", match.span(group))


def _replace(match: Match[str], kind: str, span: tuple[int, int]) -> str:
    """The match with ``span`` (the secret) replaced, keeping the secret's line breaks."""
    start, end = span
    whole, offset = match.group(0), match.start()
    replacement = PLACEHOLDER.format(kind=kind) + "\n" * match.string.count("\n", start, end)
    return whole[: start - offset] + replacement + whole[end - offset :]
