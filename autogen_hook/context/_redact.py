"""Secrets never leave the machine: every text from the user's code passes through here.

Two kinds of rules. Well-known key formats (provider API keys, cloud access
keys, private key blocks, JWTs, passwords in URLs, ``Authorization`` header
values) are replaced wherever they appear. Values given to names that look like
secrets are replaced whatever they hold: every string literal of the value
(``api_key = "..."``, ``"password": "..."``, ``TOKENS = {"prod": "..."}``,
``PASSWORD = "a" + "b"``, ``os.environ["DB_PASSWORD"] = "..."``,
``os.getenv("X_TOKEN", "...")``) and unquoted values in connection strings and
environment lines (``;PWD=...;``, ``password=... host=db``, ``PGPASSWORD=...``).

A name looks like a secret when one of its words (split at ``_ - .`` and at
camelCase humps) holds ``passw``, ``secret``, ``credential``, ``passphrase``
or is ``pw``/``pwd``, or when its last word (digits and words such as
``value`` or ``header`` aside) is ``key``, ``token``, ``pass``, ``auth``,
``authorization``, ``private``, ``salt``, ``cookie``, ``dsn``, ... or ends
like one (``authtoken``). Whole words, so ``monkey``, ``keyboard``,
``tokenizer`` and ``author`` are not, and neither are settings about a secret
(``SESSION_COOKIE_PATH``, ``KEY_PREFIX``, ``AUTH_USER_MODEL``).

What counts as the value: the string literals of the expression after ``=``,
``:=`` or ``:`` (or after a lookup's first argument) up to the end of the
statement, through concatenations, brackets, containers (not dict keys),
conditional expressions and a class's positional or ``default=`` arguments
(``SecretStr("...")``); not a subscript's index, what is compared, nor the
arguments of other calls (``key.split("__")``). A bare name inside a one-line
string is prose (``"Password: "``): there only an unquoted ``name=value`` counts.

A replacement is a visible placeholder such as ``[REDACTED openai-key]`` put
where the secret was, inside its quotes, and a secret spanning lines keeps its
line breaks, so the code keeps its shape and its line numbers and still parses.
The rules err on the side of redacting: a false positive costs the model one
literal, a false negative leaks a credential.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Collection, Iterator
from re import Match
from typing import NamedTuple

PLACEHOLDER = "[REDACTED {kind}]"
_PLACEHOLDERS = re.compile(r"\[REDACTED [a-z\-]+\]")

# user:password@ in a URL; the password runs to the last "@" (an unencoded "@" is common)
_URL_PASSWORD = r"://[^\s:/@'\"`]*:(?P<secret>[^\s'\"`]+)@"

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
        (
            "github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
            r"\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}",
        ),
        ("gitlab-token", ("glpat-",), r"\bglpat-[A-Za-z0-9_\-]{20,}"),
        ("slack-token", ("xox", "xapp-"), r"\bxox[abposre]-[A-Za-z0-9\-]{10,}|\bxapp-\d+-[A-Za-z0-9\-]{10,}"),
        ("slack-webhook", ("hooks.slack.com",), r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+"),
        ("google-api-key", ("AIza",), r"\bAIza[0-9A-Za-z_\-]{35}"),
        ("huggingface-token", ("hf_",), r"\bhf_[A-Za-z0-9]{30,}"),
        ("sendgrid-key", ("SG.",), r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
        ("jwt", ("eyJ",), r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
        ("password", ("://",), _URL_PASSWORD),
        ("token", ("earer", "EARER"), r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=\-]{20,})"),
        (
            "token", ("uthorization", "UTHORIZATION"),
            r"(?i)\bauthorization[\"']?\s*[:=]\s*[\"']?"
            r"(?:basic|bearer|token|digest|negotiate|api-?key|key|sso-key|hmac[\w\-]*|aws4-hmac-sha256)"
            r"\s+(?!\[REDACTED )(?P<secret>[^\s'\"`]+)",
        ),
    )
)

# Where a secret-looking name may be: searched in the lower-cased text (much faster than (?i)).
_HINT = re.compile(r"key|token|secret|pass|pw|cred|auth|priv|dsn|salt|cookie|bearer")
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SECRET_ROOTS = ("passw", "passphrase", "secret", "credential")  # secret in any word ...
_ABOUT_WORDS = frozenset({  # ... unless the name is about such a secret: PASSWORD_HASHERS
    "hasher", "hashers", "validator", "validators", "file", "path", "policy", "policies",
    "length", "len", "min", "max", "field", "fields", "form", "prompt", "label", "reset",
    "timeout", "age", "expiry", "url", "name", "names", "prefix", "model", "backend",
    "backends", "manager", "strength", "hint", "help", "regex", "pattern", "rules", "required",
})
_SECRET_WORDS = frozenset({"pw", "pwd", "pword"})
_LAST_WORDS = frozenset({  # secret as the name's last word: api_key, but not KEY_PREFIX
    "key", "apikey", "apikeys", "token", "pass", "cred", "creds", "auth", "authorization",
    "oauth", "private", "priv", "privkey", "dsn", "salt", "cookie", "bearer",
})
_PLURALS = frozenset({"keys", "tokens", "cookies"})  # secret only after a qualifier: API_KEYS,
_QUALIFIERS = frozenset({  # not REQUIRED_KEYS = ["id", "name"] or TOKENS = ["(", ")"]
    "api", "access", "secret", "auth", "private", "client", "bearer", "refresh", "session",
    "signing", "master", "encryption", "app", "service", "admin", "oauth", "webhook", "github",
})
_LAST_ENDINGS = ("token", "apikey", "accesskey", "privatekey", "privkey", "authkey",
                 "signingkey", "masterkey", "pwd", "creds", "cookie")
_VALUE_WORDS = frozenset({  # what may follow the secret word: token_value, auth_header
    "value", "str", "string", "raw", "bytes", "hex", "b64", "base64", "header", "data", "plain",
    "text", "pem",
})

# What may follow a secret-looking name for it to be given a value. Quoted ("password": ...,
# ["password"] = ..., getenv("PASSWORD", ...)) or bare, with an optional annotation before "=".
# A bare name inside a string is prose ("Password: "): only name=value counts there.
_QUOTED_GIVEN = re.compile(r"[\"'`]\]?[ \t]*(?P<op>\+?=(?!=)|:(?![:=])|,)[ \t]*")
_BARE_GIVEN = re.compile(
    r"[ \t]*(?::[ \t]*(?:[A-Za-z_&*][\w\[\]<>, .|&*]*?|\"[^\"\n]*\"|'[^'\n]*')[ \t]*(?=\+?=))?"
    r"(?P<op>:=|\+?=(?!=)|:(?!:))[ \t]*"
)
# name=value with no spaces, unquoted: in a connection string or an environment line
_UNQUOTED_VALUE = re.compile(
    r"=(?!(?:True|False|None|true|false|null)(?=[;&\s'\"`]|$))"
    r"(?P<v>\{[^}\n]*\}|[^;&\s'\"`,()\[\]{}=][^;&\s'\"`,()\[\]{}]*)(?=[;&\s'\"`]|$)"
)
_LOOKUPS = frozenset({"get", "getenv", "setdefault", "pop"})  # their first argument is a name
_QUOTES = frozenset("\"'`")
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")
_STRING_PREFIXES = frozenset("rRbBuUfF")
_KEYWORDS = frozenset(keyword.kwlist) - {"True", "False", "None"}  # "else [...]" is a list
_AFTER_LITERAL = frozenset("+%*.[)]},;:#\r\n\\\"'`")  # what may follow a literal in a value
_AFTER_LITERAL_WORDS = frozenset({"if", "else", "or", "and", "for", "in", "not", "is"})


# The identifier tokens a key format lexes into ("sk-proj-..." gives "sk", "proj" and its random
# part): a file with none of these pieces or beginnings, and no password in a URL, holds no key
# format. They mirror _FORMATS.
_KEY_PIECES = frozenset({
    "sk", "SG", "glpat", "xapp", "xoxa", "xoxb", "xoxe", "xoxo", "xoxp", "xoxr", "xoxs", "PRIVATE",
    "Bearer", "bearer", "BEARER", "Authorization", "authorization", "AUTHORIZATION",
})
_KEY_STARTS = re.compile(
    r"\n(?:AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|[srp]k_(?:live|test)_|whsec_|AIza|hf_|eyJ)"
)
_URL = re.compile(_URL_PASSWORD)


class _Bracket(NamedTuple):
    """An open bracket of a value: what its literals are."""

    character: str
    values: bool  # its literals are part of the value (not a subscript, not a function's arguments)
    call: bool  # the arguments of a class or a lookup: positional and default= arguments are values
    lookup: bool  # get/getenv/setdefault/pop: the first argument names the secret, it is none


def redact(text: str, *, assignments: bool = True) -> str:
    """``text`` with secrets replaced; ``assignments=False`` applies only the format rules."""
    for kind, literals, pattern in _FORMATS:
        if any(literal in text for literal in literals):
            group = "secret" if "secret" in pattern.groupindex else 0
            text = pattern.sub(_replacer(kind, group), text)
    return _redact_named(text) if assignments else text


def may_hold_keys(identifiers: Collection[str], text: str) -> bool:
    """Whether ``text``, whose identifier tokens are ``identifiers``, may hold a key format: a
    test that costs a fraction of the format rules and spares them nearly every file."""
    return (
        not _KEY_PIECES.isdisjoint(identifiers)
        or _KEY_STARTS.search("\n" + "\n".join(identifiers)) is not None
        or ("://" in text and _URL.search(text) is not None)
    )


def without_keys(text: str) -> str:
    """``text`` without what matches a key format, placeholders included: for what is stored."""
    return _PLACEHOLDERS.sub(" ", redact(text, assignments=False))


def count_redactions(text: str) -> int:
    """How many placeholders ``text`` shows."""
    return len(_PLACEHOLDERS.findall(text))


def _secret_name(name: str) -> bool | None:
    """Whether ``name`` (``DB_PASS``, ``apiKey``, ``X-Auth-Token``) looks like it holds a secret;
    None for a bare plural (``TOKENS``), whose values are secrets only if they look like ones."""
    words = [word.lower() for word in _WORD.findall(name)]
    meaningful = [w for w in words if not w.isdigit() and w not in _VALUE_WORDS]
    last = meaningful[-1] if meaningful else ""
    if last in _ABOUT_WORDS:
        return False
    if any(word in _SECRET_WORDS or any(root in word for root in _SECRET_ROOTS) for word in words):
        return True
    if last in _PLURALS:
        return True if len(meaningful) > 1 and meaningful[-2] in _QUALIFIERS else None
    return last in _LAST_WORDS or last.endswith(_LAST_ENDINGS)


def _redact_named(text: str) -> str:
    """Values given to secret-looking names, tried only where such a name may be."""
    spans = sorted(
        span
        for start, end, certain in _secret_names(text)
        for span in _given(text, start, end)
        if certain or _looks_secret(text[span[0] : span[1]])
    )
    if not spans:
        return text
    pieces: list[str] = []
    done = 0
    for start, end in spans:  # a value may hold another name's value: each secret once
        if start >= done:
            secret = text[start:end]
            pieces += [text[done:start], PLACEHOLDER.format(kind="secret"), "\n" * secret.count("\n")]
            done = end
    return "".join(pieces) + text[done:]


def _looks_secret(value: str) -> bool:
    """A value of a bare plural (``TOKENS = {"prod": ...}``) that could be a key: long, letters
    and digits mixed, not a lexer's ``"("`` or a field name."""
    return len(value) >= 8 and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _secret_names(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, certain) of every secret-looking name in ``text``, in order, each once;
    ``certain`` is False for a bare plural (see :func:`_secret_name`)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two: keep the offsets
        lowered = "".join(c.lower() if c.isascii() else "_" for c in text)
    done = 0
    for hit in _HINT.finditer(lowered):
        if hit.start() < done:
            continue
        start, end = hit.start(), hit.end()
        while start > 0 and text[start - 1] in _NAME_CHARACTERS:
            start -= 1
        while end < len(text) and text[end] in _NAME_CHARACTERS:
            end += 1
        done = end
        secret = _secret_name(text[start:end])
        if secret is not False:
            yield start, end, secret is True


def _given(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the secret values given to the name at ``text[start:end]`` (none if it is not given one)."""
    quote = text[start - 1] if start else ""
    if quote in _QUOTES and text.startswith(quote, end):
        given = _QUOTED_GIVEN.match(text, end)
        if given is None or (given["op"] == "," and not _names_a_secret(text, start - 1)):
            return []
    else:
        in_string = _in_string(text, start)
        unquoted = _UNQUOTED_VALUE.match(text, end)
        if unquoted is not None and (in_string or _environment_line(text, start)):
            return [unquoted.span("v")]  # a connection string's PWD=...; or an environment line
        given = None if in_string else _BARE_GIVEN.match(text, end)
        if given is None:
            return []
    line_start = text.rfind("\n", 0, start) + 1
    in_comment = text.find("#", line_start, start) >= 0  # prose: brackets need not close
    limit = _line_end(text, start) if in_comment else len(text)
    return list(_value_literals(text, given.end(), limit))


def _names_a_secret(text: str, quote: int) -> bool:
    """Whether the string at ``text[quote]``, followed by a comma, is the first argument of a
    lookup: ``getenv("X_TOKEN", "...")`` names what it falls back to."""
    bracket = _blanks_before(text, quote) - 1
    return bracket >= 0 and text[bracket] == "(" and _word_before(text, bracket) in _LOOKUPS


def _in_string(text: str, index: int) -> bool:
    """Whether ``index`` is inside a string (or a `` `quote` ``) that opened on its line. A bare
    ``name=value`` there is a connection string's, not code (``f(x, password=pw)``), and
    ``Password:`` is prose."""
    quote = ""
    position = text.rfind("\n", 0, index) + 1
    while position < index:
        character = text[position]
        if character == "\\" and quote:
            position += 1
        elif character == quote:
            quote = ""
        elif not quote and character in _QUOTES:
            quote = character
        position += 1
    return bool(quote)


def _environment_line(text: str, start: int) -> bool:
    """Whether the name at ``start`` begins an unindented line, as in a shell (``export X=...``)."""
    line = text.rfind("\n", 0, start) + 1
    return text[line:start] in ("", "export ")


def _value_literals(text: str, position: int, limit: int) -> Iterator[tuple[int, int]]:
    """Spans of the contents of the string literals that make up the value starting at ``position``.

    The value ends at a comma, semicolon, comment or line end outside brackets, at a closing
    bracket it did not open, where no expression could go on, or at ``limit``. Empty literals
    hide nothing and are left.
    """
    brackets: list[_Bracket] = []  # innermost last
    index = position
    while index < limit:
        character = text[index]
        if character in _QUOTES:
            start = _literal_start(text, index)
            if index > position and _follows_operand(text, start):
                return  # no literal can start here: the value is over (prose, a docstring's end)
            content = _string(text, index)
            index = content[2]
            template = "f" in text[start:content[0]].lower() and "{" in text[content[0] : content[1]]
            if (
                content[1] > content[0]
                and not template  # f"Bearer {token}" is code: a key inside it meets the format rules
                and _is_value(text, start, content[:2], index, brackets)
            ):
                yield content[:2]
            if not _continues(text, index):
                return
            continue
        if character in _OPENERS:
            brackets.append(_opened(text, index, brackets))
        elif character in _CLOSERS:
            if not brackets:
                return
            brackets.pop()
        elif character == "#":
            index = _line_end(text, index)
            if not brackets:
                return
            continue
        elif not brackets and character in ",;\n":
            return
        index += 1


def _opened(text: str, index: int, brackets: list[_Bracket]) -> _Bracket:
    """The bracket opening at ``text[index]``: a display or group holds values; so do the arguments
    of a class (``SecretStr("...")``) and of a lookup; a subscript and other calls do not."""
    character = text[index]
    values = _holds_value(text, index, brackets)
    if character == "{" or not _follows_operand(text, index):
        return _Bracket(character, values, call=False, lookup=False)
    called = _word_before(text, index)
    lookup = character == "(" and called in _LOOKUPS
    call = character == "(" and (lookup or called[:1].isupper())
    return _Bracket(character, values and call, call, lookup)


def _is_value(
    text: str, start: int, content: tuple[int, int], end: int, brackets: list[_Bracket]
) -> bool:
    """Whether the literal at ``start`` (``content`` inside, ending at ``end``) holds a value:
    not a dict key, not a lookup's name, not what something is compared with."""
    if _PLACEHOLDERS.fullmatch(text[content[0] : content[1]].rstrip("\n")):
        return False  # a format rule hid it already
    if _compared(text, start) or not _holds_value(text, start, brackets):
        return False
    return not brackets or brackets[-1].character != "{" or _next(text, end) != ":"


def _holds_value(text: str, start: int, brackets: list[_Bracket]) -> bool:
    """Whether what starts at ``start`` inside ``brackets`` is part of the value: in a call, a
    positional or ``default=`` argument, and not the name a lookup is given first."""
    if not brackets:
        return True
    bracket = brackets[-1]
    if not bracket.values or not bracket.call:
        return bracket.values
    keyword = _keyword_before(text, start)
    if keyword is not None:
        return keyword == "default"
    return not (bracket.lookup and _previous(text, start) == "(")


def _keyword_before(text: str, index: int) -> str | None:
    """``name`` if ``name=`` comes right before ``index`` (a keyword argument), else None."""
    end = _blanks_before(text, index)
    if end < 2 or text[end - 1] != "=" or text[end - 2] in "=!<>":
        return None
    return _word_before(text, _blanks_before(text, end - 1)) or None


def _compared(text: str, start: int) -> bool:
    """Whether the literal at ``start`` is compared with (``!= "false"``, ``in "abc"``)."""
    end = _blanks_before(text, start)
    return text[end - 2 : end] in ("==", "!=", "<=", ">=") or text[end - 1 : end] in ("<", ">") or (
        _word_before(text, end) in ("in", "is")
    )


def _continues(text: str, index: int) -> bool:
    """Whether an expression can go on after the literal ending at ``index``."""
    while index < len(text) and text[index] in " \t":
        index += 1
    if index == len(text):
        return True
    character = text[index]
    if character.isalpha() or character == "_":
        end = index
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        return text[index:end] in _AFTER_LITERAL_WORDS
    return character in _AFTER_LITERAL


def _literal_start(text: str, quote: int) -> int:
    """Where the literal whose quote is at ``quote`` starts: at its prefix (``rb"..."``), if any."""
    start = quote
    while start > quote - 2 and start > 0 and text[start - 1] in _STRING_PREFIXES:
        start -= 1
    return quote if start < quote and _word_before(text, start) else start


def _follows_operand(text: str, index: int) -> bool:
    """Whether a name (not a keyword), a call or a subscript ends right before ``index``."""
    end = _blanks_before(text, index)
    before = text[end - 1] if end else ""
    if before.isalnum() or before == "_":
        return _word_before(text, end) not in _KEYWORDS
    return before in (")", "]", "}")


def _string(text: str, start: int) -> tuple[int, int, int]:
    """(content start, content end, end) of the string literal opening at ``text[start]``."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        closing = text.find(quote * 3, start + 3)
        end = len(text) if closing < 0 else closing
        return start + 3, end, min(len(text), end + 3)
    index = start + 1
    while index < len(text):
        character = text[index]
        if character == "\\":
            index += 2
            continue
        if character == quote:
            return start + 1, index, index + 1
        if character == "\n":
            break  # unterminated (or a template literal: not followed across lines)
        index += 1
    index = min(index, len(text))
    return start + 1, index, index


def _word_before(text: str, index: int) -> str:
    """The identifier right before ``index`` ("" if there is none)."""
    start = index
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:index]


def _previous(text: str, index: int) -> str:
    """The last non-blank character before ``index``."""
    end = _blanks_before(text, index)
    return text[end - 1] if end else ""


def _blanks_before(text: str, index: int) -> int:
    """Where the blanks that end right before ``index`` start."""
    while index > 0 and text[index - 1] in " \t\r\n":
        index -= 1
    return index


def _next(text: str, index: int) -> str:
    """The first non-blank character at or after ``index``."""
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return text[index] if index < len(text) else ""


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _replacer(kind: str, group: int | str) -> Callable[[Match[str]], str]:
    """A ``re.sub`` callback that hides ``group`` of each match as a ``kind`` secret."""
    return lambda match: _replace(match, kind, match.span(group))


def _replace(match: Match[str], kind: str, span: tuple[int, int]) -> str:
    """The match with ``span`` (the secret) replaced, keeping the secret's line breaks."""
    start, end = span
    whole, offset = match.group(0), match.start()
    replacement = PLACEHOLDER.format(kind=kind) + "\n" * match.string.count("\n", start, end)
    return whole[: start - offset] + replacement + whole[end - offset :]
