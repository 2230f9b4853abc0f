"""Secrets never leave the machine: every text from the user's code passes through here.

The rules find spans of the original text; :func:`redact` replaces them, :func:`explain` says
which rule took what on which line (``autogen-hook context --show-redactions``), and
:func:`restore` puts a stored module's own secrets back into a reply that extended it.

* **Key formats** wherever they appear: provider API keys, cloud access keys, private key
  blocks, JWTs, passwords in URLs, ``Authorization`` header values, bare ``Basic`` credentials
  (base64 of ``user:password``), a UUID next to ``heroku``, Mailgun's ``key-...``.
* **Values given to secret-looking names**, whatever they hold: every string literal of the
  value (``api_key = "..."``, ``"password": "..."``, ``TOKENS = {"prod": "..."}``,
  ``PASSWORD = "a" + "b"``, ``os.environ["DB_PASSWORD"] = "..."``,
  ``os.getenv("X_TOKEN", "...")``), the literal parts of an f-string template that look like
  a value (``f"{PREFIX}-9f8e...-secret"``, not ``f"Bearer {token}"``), what a function named
  like a secret returns (``def get_api_key(): return "..."``), and unquoted values in
  connection strings and environment lines (``;PWD=...;``, ``password=... host=db``,
  ``PGPASSWORD=...``). An upper-case constant passed as a credential (``login(user, BANNER)``,
  ``password=BANNER``) is a secret-looking name too.
* **Credential arguments**: the positional literals of calls that take credentials
  (``login("user", "...")``, ``authenticate``, ``connect``, ``HTTPBasicAuth``, ...), all but
  the first (the user, the host) and, for ``set_password``-like calls, that one too.
* **Prose** (comments, string contents, descriptions): a secret word followed by ``:``,
  ``=`` or ``is`` and a value-looking word (``# password: hunter2``, ``the key is Xy7...``,
  ``staging db password is ...``). A value looks like one when it holds a digit or a symbol
  and is no path, dotted name, format placeholder or placeholder of ours.
* **High-entropy literals**: a string literal (or an f-string's literal part) that is one
  token of base64 or hex characters, long enough, with letters and digits, whose Shannon
  entropy is close to that of a random string of its length (thresholds in
  ``tests/benchmarks/bench_redaction.py``'s report), and that is no alphabet run.

A name looks like a secret when one of its words (split at ``_ - .`` and at
camelCase humps) holds ``passw``, ``secret``, ``credential``, ``passphrase``
or is ``pw``/``pwd``, or when its last word (digits and words such as
``value`` or ``header`` aside) is ``key``, ``token``, ``pass``, ``auth``,
``authorization``, ``private``, ``salt``, ``cookie``, ``dsn``, ... or ends
like one (``authtoken``). Whole words, so ``monkey``, ``keyboard``,
``tokenizer`` and ``author`` are not, and neither are settings about a secret
(``SESSION_COOKIE_PATH``, ``KEY_PREFIX``, ``AUTH_USER_MODEL``).

What counts as the value: the string literals of the expression after ``=``,
``:=`` or ``:`` (or after a lookup's first argument, or after ``return``) up to the end of
the statement, through concatenations, brackets, containers (not dict keys),
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

import base64
import binascii
import keyword
import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from typing import NamedTuple

PLACEHOLDER = "[REDACTED {kind}]"
_PLACEHOLDERS = re.compile(r"\[REDACTED [a-z\-]+\]")


class Redaction(NamedTuple):
    """A span of the original text to hide, what to show instead and why."""

    start: int
    end: int
    kind: str  # the placeholder's word: "openai-key", "secret", ...
    rule: str  # why, in words that quote no secret: "value of DB_PASS"


def _basic_credentials(value: str) -> bool:
    """Whether ``value`` is base64 of ``user:password`` (so "Basic authentication" is not)."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, colon, password = decoded.partition(":")
    return bool(colon and user and password) and decoded.isprintable()


# user:password@ in a URL; the password runs to the last "@" (an unencoded "@" is common)
_URL_PASSWORD = r"://[^\s:/@'\"`]*:(?P<secret>[^\s'\"`]+)@"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# (kind, literals, pattern, check): the pattern runs only on a text holding one of its literals
# (a substring search is ~100x cheaper than a regex pass); the whole match is the secret unless
# the pattern has a group named "secret"; ``check``, if any, must accept the secret.
_FORMATS: tuple[tuple[str, tuple[str, ...], re.Pattern[str], Callable[[str], bool] | None], ...] = tuple(
    (kind, literals, re.compile(pattern), check)
    for kind, literals, pattern, check in (
        (
            "private-key", ("PRIVATE KEY",),
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]*)",
            None,
        ),
        ("anthropic-key", ("sk-ant-",), r"\bsk-ant-[A-Za-z0-9_\-]{20,}", None),
        ("openai-key", ("sk-",), r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}", None),
        (
            "stripe-key", ("_live_", "_test_", "whsec_"),
            r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{16,}", None,
        ),
        ("aws-access-key", ("AKIA", "ASIA", "ABIA", "ACCA"), r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b", None),
        (
            "github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
            r"\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}", None,
        ),
        ("gitlab-token", ("glpat-", "glptt-"), r"\bglp(?:at|tt)-[A-Za-z0-9_\-]{20,}", None),
        ("slack-token", ("xox", "xapp-"), r"\bxox[abposre]-[A-Za-z0-9\-]{10,}|\bxapp-\d+-[A-Za-z0-9\-]{10,}", None),
        ("slack-webhook", ("hooks.slack.com",), r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+", None),
        ("google-api-key", ("AIza",), r"\bAIza[0-9A-Za-z_\-]{35}", None),
        ("google-oauth-token", ("ya29.",), r"\bya29\.[0-9A-Za-z_\-]{20,}", None),
        ("huggingface-token", ("hf_",), r"\bhf_[A-Za-z0-9]{30,}", None),
        ("sendgrid-key", ("SG.",), r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}", None),
        ("mailgun-key", ("key-",), r"\b(?:pub)?key-[0-9a-zA-Z]{32}\b", None),
        ("mailchimp-key", ("-us",), r"\b[0-9a-f]{32}-us\d{1,2}\b", None),
        ("heroku-key", ("eroku", "EROKU"), rf"(?i)heroku[\w \t.\-\"':=>]{{0,40}}?\b(?P<secret>{_UUID})\b", None),
        ("twilio-key", ("SK",), r"\bSK[0-9a-fA-F]{32}\b", None),
        ("npm-token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b", None),
        ("pypi-token", ("pypi-AgEI",), r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}", None),
        ("shopify-token", ("shpat_", "shpca_", "shppa_", "shpss_"), r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", None),
        ("digitalocean-token", ("_v1_",), r"\bdo[opr]_v1_[a-f0-9]{64}\b", None),
        ("square-token", ("sq0",), r"\bsq0(?:atp|csp)-[0-9A-Za-z_\-]{22,}", None),
        ("telegram-token", (":AA",), r"\b\d{8,10}:AA[A-Za-z0-9_\-]{33}\b", None),
        ("vault-token", ("hvs.",), r"\bhvs\.[A-Za-z0-9_\-]{24,}", None),
        ("databricks-token", ("dapi",), r"\bdapi[a-h0-9]{32}\b", None),
        ("age-key", ("AGE-SECRET-KEY-",), r"AGE-SECRET-KEY-1[0-9A-Z]{58}", None),
        ("jwt", ("eyJ",), r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}", None),
        ("password", ("://",), _URL_PASSWORD, None),
        ("token", ("earer", "EARER"), r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=\-]{20,})", None),
        ("token", ("Basic", "basic", "BASIC"), r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]{6,}={0,2})(?![\w+/=])", _basic_credentials),
        (
            "token", ("uthorization", "UTHORIZATION"),
            r"(?i)\bauthorization[\"']?\s*[:=]\s*[\"']?"
            r"(?:basic|bearer|token|digest|negotiate|api-?key|key|sso-key|hmac[\w\-]*|aws4-hmac-sha256)"
            r"\s+(?!\[REDACTED )(?P<secret>[^\s'\"`]+)",
            None,
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
    "msg", "message", "messages", "warning", "error", "errors", "template", "html", "format",
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
# A strong name holds a secret whatever its value looks like: a word of it holds a root above,
# or its last word is one of these or a key or token after a qualifier (api_key, ACCESS_TOKEN).
# The others (a bare key, token, salt, cookie, dsn, ...: SESSION_KEY = "_auth_user_id") hide
# only values shaped like a secret (see _value_like).
_STRONG_LAST = frozenset({"apikey", "apikeys", "privkey", "authorization", "bearer", "oauth", "cred", "creds"})
_STRONG_ENDINGS = ("apikey", "accesskey", "privatekey", "privkey", "authkey", "signingkey",
                   "masterkey", "pwd", "creds", "authtoken", "accesstoken")
_STRONG_QUALIFIERS = _QUALIFIERS - {"session", "app", "service"} | {
    "gitlab", "slack", "bot", "deploy", "personal", "license", "account", "storage", "hmac",
    "jwt", "ssh", "encryption", "id",
}
STRONG, WEAK = "strong", "weak"
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
_DEFINERS = frozenset({"def", "function", "func", "fn"})  # def get_api_key(): its returns
_RETURN = re.compile(r"(?<![\w.])return\b[ \t]*")
_CONSTANT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")  # BANNER: a constant passed as a credential
_QUOTES = frozenset("\"'`")
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")
_STRING_PREFIXES = frozenset("rRbBuUfF")
_KEYWORDS = frozenset(keyword.kwlist) - {"True", "False", "None"}  # "else [...]" is a list
_AFTER_LITERAL = frozenset("+%*.[)]},;:#\r\n\\\"'`")  # what may follow a literal in a value
_AFTER_LITERAL_WORDS = frozenset({"if", "else", "or", "and", "for", "in", "not", "is"})

# Calls that take credentials: (the call's last name, lower-cased) -> index of the first
# positional argument that is one. login(user, password), connect(host, user, password, db).
_CREDENTIAL_CALLS = {
    **dict.fromkeys(("login", "authenticate", "auth", "bind", "bind_s", "simple_bind",
                     "simple_bind_s", "httpbasicauth", "httpdigestauth", "httpproxyauth",
                     "basicauth", "digestauth", "basic_auth", "connect", "starttls_login"), 1),
    **dict.fromkeys(("set_password", "make_password", "setpassword", "set_secret"), 0),
}
_CALL = re.compile(
    r"(?i)\b(?:login|authenticate|auth|bind|bind_s|simple_bind(?:_s)?|http(?:basic|digest|proxy)auth"
    r"|basicauth|digestauth|basic_auth|connect|starttls_login|set_?password|make_password|set_secret)"
    r"[ \t]*\("
)

# Comments and string literals, for the prose and entropy rules (Python, with the C family's
# line and block comments and JavaScript's template literals).
_BLANK = re.compile(r"[ \t\n]")
_LEXEMES = re.compile(
    r"(?P<comment>#[^\n]*|(?m:^[ \t]*//[^\n]*)|/\*[\s\S]*?(?:\*/|\Z))"
    r"|(?P<prefix>(?<![\w.])[rRbBuUfF]{1,2})?(?P<quote>\"\"\"|'''|[\"'`])"
)
# A secret word in prose, then what gives its value: "password: X", "token=X", "the key is X"
_PROSE_GIVEN = re.compile(r"[\"'`]?[ \t]*(?:[:=]|(?:is|was|will be|=)\b)[ \t]*(?:(?:now|still|set to)[ \t]+)?")
_PROSE_VALUE = re.compile(r"[\"'`*]?(?P<v>[^\s\"'`*]+)")
_PROSE_TRAILING = ".,;:)]}>"  # sentence punctuation ("!" may end a password)
_SYMBOLS = frozenset("!@#$^&*+=~")  # in a value that is no word ("_" and "-" join words)
# What no secret looks like: a name (digits make "hunter2" a value), a dotted name
# (settings.SECRET_KEY, django.core.signing), a call, a path, a URL (its password is a key format)
_REFERENCE = re.compile(
    r"[A-Za-z_\-]+|[\w\-]*(?:\.[\w\-]+)+(?:\(\))?\.?|[A-Za-z_]\w*\(\)"
    r"|(?:[./~]|[A-Za-z]:\\|\w+://)\S*|[\w.\-]+(?:/[\w.\-]+)+/?"
)
_TEMPLATE = re.compile(r"%(?:\([\w\-]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrx]|\{\w*(?:[.\[][^{}]*)?(?::[^{}]*)?\}")
_MARKUP = frozenset("<>`|\\()[]{},")  # no password is shaped like markup or code

# A literal that is one token of these characters may be a random key.
_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]+={0,2}")
_HEX = re.compile(r"[0-9a-fA-F]+")
MIN_TOKEN = 20  # characters of a base64-like token (gitleaks and detect-secrets look at 20 and more)
MIN_HEX = 32  # characters of a hex token: an MD5's length; shorter hex is ids and colours
ENTROPY_SHARE = 0.80  # of the most a string of its length could have (base64-like)
CLASS_CHANGES = 0.42  # share of neighbouring letters and digits in different classes (a, A, 0)
HEX_ENTROPY = 3.0  # bits per character of hex (detect-secrets' HexHighEntropyString limit)

# The identifier tokens a key format lexes into ("sk-proj-..." gives "sk", "proj" and its random
# part): a file with none of these pieces or beginnings, and no password in a URL, holds no key
# format with a prefix. They mirror _FORMATS.
_KEY_PIECES = frozenset({
    "sk", "SG", "glpat", "glptt", "xapp", "xoxa", "xoxb", "xoxe", "xoxo", "xoxp", "xoxr", "xoxs",
    "PRIVATE", "Bearer", "bearer", "BEARER", "Authorization", "authorization", "AUTHORIZATION",
    "ya29", "hvs",
})
# Formats whose pieces are common identifiers (key, Basic): a substring test instead. The
# index keeps the pieces of the unprefixed formats (a UUID by heroku, age, lower-case basic).
_KEY_SUBSTRINGS = (  # (substring, the format's own pattern): most texts with "key-" hold no key
    ("key-", re.compile(r"\b(?:pub)?key-[0-9a-zA-Z]{32}\b")),
    ("Basic ", re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/]{6,}={0,2}(?![\w+/=])")),
)
_KEY_STARTS = re.compile(
    r"\n(?:AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|[srp]k_(?:live|test)_|whsec_|AIza|hf_|eyJ"
    r"|SK[0-9a-fA-F]{32}|npm_|pypi|shp(?:at|ca|pa|ss)_|do[opr]_v1_|sq0|dapi)"
)
_URL = re.compile(_URL_PASSWORD)


class _Bracket(NamedTuple):
    """An open bracket of a value: what its literals are."""

    character: str
    values: bool  # its literals are part of the value (not a subscript, not a function's arguments)
    call: bool  # the arguments of a class or a lookup: positional and default= arguments are values
    lookup: bool  # get/getenv/setdefault/pop: the first argument names the secret, it is none


def redact(text: str, *, prose: bool = False, credentials: Collection[str] = ()) -> str:
    """``text`` with secrets replaced; ``prose`` for a text that is no code (a description);
    ``credentials``: upper-case names the whole file passes as credentials, for a part of it."""
    return apply(text, find(text, prose=prose, credentials=credentials))


def find(text: str, *, prose: bool = False, credentials: Collection[str] = ()) -> list[Redaction]:
    """What :func:`redact` hides, in order, without overlaps (a format's kind wins a tie)."""
    constants = set(credentials)  # upper-case names passed as credentials
    found = [*_formats(text), *_credential_arguments(text, constants), *_named(text, constants)]
    found += _lexed(text)
    if prose:
        found += _prose(text, 0, len(text))
    return _merged(found)


def apply(text: str, found: list[Redaction]) -> str:
    """``text`` with each of ``found`` replaced by its placeholder, keeping its line breaks."""
    if not found:
        return text
    pieces: list[str] = []
    done = 0
    for start, end, kind, _ in found:
        pieces += [text[done:start], PLACEHOLDER.format(kind=kind), "\n" * text.count("\n", start, end)]
        done = end
    return "".join(pieces) + text[done:]


def explain(text: str, *, prose: bool = False, credentials: Collection[str] = ()) -> list[tuple[int, str, str]]:
    """(line, kind, rule) of each redaction in ``text``: what was removed and why, not what."""
    found = find(text, prose=prose, credentials=credentials)
    return [(text.count("\n", 0, r.start) + 1, r.kind, r.rule) for r in found]


def credential_names(text: str) -> frozenset[str]:
    """The upper-case names ``text`` passes as credentials (``login(user, BANNER)``,
    ``password=FALLBACK``): a definition of one, rendered alone, is redacted with them."""
    constants: set[str] = set()
    for _ in (*_credential_arguments(text, constants), *_named(text, constants)):
        pass
    return frozenset(constants)


def may_hold_keys(identifiers: Collection[str], text: str) -> bool:
    """Whether ``text``, whose identifier tokens are ``identifiers``, may hold a key format: a
    test that costs a fraction of the format rules and spares them nearly every file."""
    return (
        not _KEY_PIECES.isdisjoint(identifiers)
        or _KEY_STARTS.search("\n" + "\n".join(identifiers)) is not None
        or ("://" in text and _URL.search(text) is not None)
        or any(piece in text and pattern.search(text) for piece, pattern in _KEY_SUBSTRINGS)
    )


def without_keys(text: str) -> str:
    """``text`` without what matches a key format, placeholders included: for what is stored."""
    return _PLACEHOLDERS.sub(" ", apply(text, _merged(list(_formats(text)))))


def count_redactions(text: str) -> int:
    """How many placeholders ``text`` shows."""
    return len(_PLACEHOLDERS.findall(text))


class SecretsNotKept(ValueError):
    """An extension's reply lost a line that held one of the stored module's redacted secrets."""


def restore(reply: str, original: str) -> str:
    """``reply``, written from ``redact(original)``, with ``original``'s secrets put back.

    A placeholder the reply shows on a line that reads as a redacted line of ``original``
    (blanks and quote marks aside: black may have reformatted it) takes that line's secret
    back, in order; the placeholders left then take the secrets left, in order, where their
    kinds agree (black may have split a line). Raises :class:`SecretsNotKept`, showing the
    lines as redacted, when a secret has no place in the reply: the model is to keep them.
    """
    found = find(original)
    if not found:
        return reply
    redacted = apply(original, found)
    waiting: list[_Hidden] = []
    offset = 0  # how far each placeholder of the redacted text is from its secret's start
    for start, end, kind, _ in found:
        at = start + offset
        secret = original[start:end]
        waiting.append(_Hidden(secret, kind, _line_key(redacted, at), _quote_before(redacted, at)))
        offset += len(PLACEHOLDER.format(kind=kind)) + secret.count("\n") - (end - start)
    shown = list(_PLACEHOLDERS.finditer(reply))
    placed: dict[int, _Hidden] = {}  # index in shown -> its secret
    for same_line in (True, False):
        for index, match in enumerate(shown):
            if index in placed:
                continue
            key = _line_key(reply, match.start())
            hidden = next((h for h in waiting if (h.line == key if same_line else
                           PLACEHOLDER.format(kind=h.kind) == match[0])), None)
            if hidden is not None:
                placed[index] = hidden
                waiting.remove(hidden)
    if waiting:
        lines = dict.fromkeys(h.line for h in waiting)
        shown_lines = "\n".join(f"    {line.strip()}" for line in redacted.split("\n") if _line_key(line, 0) in lines)
        raise SecretsNotKept(
            "keep these lines of the existing module as they are (their [REDACTED ...] values "
            f"are the user's, put back after the check):\n{shown_lines}"
        )
    pieces: list[str] = []
    done = 0
    for index, match in enumerate(shown):
        hidden = placed.get(index)
        if hidden is None:
            continue
        end = match.end()
        breaks = hidden.secret.count("\n")
        while breaks and reply.startswith("\n", end):  # the secret's own line breaks, if kept
            end, breaks = end + 1, breaks - 1
        secret = _requoted(hidden.secret, hidden.quote, _quote_before(reply, match.start()))
        pieces += [reply[done : match.start()], secret]
        done = end
    return "".join(pieces) + reply[done:]


class _Hidden(NamedTuple):
    """A secret of a stored module, and where the redacted module showed it."""

    secret: str
    kind: str
    line: str  # the redacted line, as :func:`_line_key` gives it
    quote: str  # the quote mark before it on that line


def _line_key(text: str, index: int) -> str:
    """The line holding ``index``, without blanks and with one kind of quote mark."""
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    line = text[start : end if end >= 0 else len(text)]
    return re.sub(r"\s+", "", line).replace("'", '"')


def _quote_before(text: str, index: int) -> str:
    """The nearest quote mark before ``index`` on its line ("" if none)."""
    start = text.rfind("\n", 0, index) + 1
    quotes = [text.rfind(q, start, index) for q in "\"'"]
    position = max(quotes)
    return text[position] if position >= 0 else ""


def _requoted(secret: str, was: str, now: str) -> str:
    """``secret`` escaped for the quote mark that delimits it now (black may have changed it)."""
    if was == now or not now or now not in secret:
        return secret
    return re.sub(rf"(?<!\\){re.escape(now)}", lambda m: "\\" + now, secret)


def _merged(found: list[Redaction]) -> list[Redaction]:
    """``found`` in order, overlapping spans joined (the earliest, longest one names them; a key
    format names an equal span)."""
    ordered = sorted(found, key=lambda r: (r.start, -r.end, not r.rule.startswith("key format")))
    merged: list[Redaction] = []
    for redaction in ordered:
        if redaction.start >= redaction.end:
            continue
        if merged and redaction.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = last._replace(end=max(last.end, redaction.end))
        else:
            merged.append(redaction)
    return merged


def _formats(text: str) -> Iterator[Redaction]:
    for kind, literals, pattern, check in _FORMATS:
        if any(literal in text for literal in literals):
            group = "secret" if "secret" in pattern.groupindex else 0
            for match in pattern.finditer(text):
                if check is None or check(match[group]):
                    yield Redaction(*match.span(group), kind, f"key format {kind}")


def secret_name(name: str) -> str:
    """How surely ``name`` (``DB_PASS``, ``apiKey``, ``X-Auth-Token``) holds a secret:
    :data:`STRONG`, :data:`WEAK` (its values are secrets only if they look like ones: a bare
    ``key``, ``token``, ``salt``, a plural such as ``TOKENS``) or "" (none)."""
    words = [word.lower() for word in _WORD.findall(name)]
    meaningful = [w for w in words if not w.isdigit() and w not in _VALUE_WORDS]
    last = meaningful[-1] if meaningful else ""
    if last in _ABOUT_WORDS:
        return ""
    if any(word in _SECRET_WORDS or any(root in word for root in _SECRET_ROOTS) for word in words):
        return STRONG
    qualified = len(meaningful) > 1 and meaningful[-2] in _STRONG_QUALIFIERS
    if last in _STRONG_LAST or last.endswith(_STRONG_ENDINGS) or (
        qualified and last in ("key", "token", "keys", "tokens")
    ):
        return STRONG
    if last in _PLURALS or last in _LAST_WORDS or last.endswith(_LAST_ENDINGS):
        return WEAK
    return ""


def _named(text: str, constants: set[str]) -> Iterator[Redaction]:
    """Values given to secret-looking names, tried only where such a name may be; then those of
    ``constants``, the upper-case names passed as credentials (more join on the way)."""
    for start, end, strength in _secret_names(text):
        name = text[start:end]
        returned = _word_before(text, _blanks_before(text, start)) in _DEFINERS
        for span in _given(text, start, end, constants):
            if _secret_value(text[span[0] : span[1]], strength, returned):
                rule = f"returned by {name}()" if returned else f"value of {name}"
                yield Redaction(*span, "secret", rule)
    for name in sorted(constants):
        for match in re.finditer(rf"(?<![\w.]){re.escape(name)}(?!\w)", text):
            for span in _given(text, *match.span(), set()):
                yield Redaction(*span, "secret", f"value of {name}, passed as a credential")


def _secret_value(value: str, strength: str, returned: bool) -> bool:
    """Whether ``value``, given to (or ``returned`` by) a name of that strength, is hidden: a
    strong name's value unless it is a template (``"... BY %(password)s"``), or what a strong
    function returns unless it is also a path or a dotted name; else a value shaped like one."""
    if _TEMPLATE.search(value):
        return False
    if strength == STRONG:
        return not (returned and _REFERENCE.fullmatch(value))
    return _value_like(value)


def _value_like(value: str) -> bool:
    """Whether ``value`` is shaped like a password or a key, not like a word, a name, a path, a
    template or prose: one token of 5 characters or more with letters, and digits or symbols."""
    if len(value) < 5 or len(value) > 4096 or _PLACEHOLDERS.match(value) or _REFERENCE.fullmatch(value):
        return False
    if any(c.isspace() or c in _MARKUP for c in value) or _TEMPLATE.search(value):
        return False
    return any(c.isalpha() for c in value) and any(c.isdigit() or c in _SYMBOLS for c in value)


def _secret_names(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, strength) of every secret-looking name in ``text``, in order, each once."""
    for start, end in _hinted_words(text):
        strength = secret_name(text[start:end])
        if strength:
            yield start, end, strength


def _hinted_words(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of each name-like word in ``text[start:end]`` that holds a hint of a secret."""
    end = len(text) if end is None else end
    lowered = text[start:end].lower()
    if len(lowered) != end - start:  # a few characters lower-case to two: keep the offsets
        lowered = "".join(c.lower() if c.isascii() else "_" for c in text[start:end])
    done = start
    for hit in _HINT.finditer(lowered):
        first, last = start + hit.start(), start + hit.end()
        if first < done:
            continue
        while first > start and text[first - 1] in _NAME_CHARACTERS:
            first -= 1
        while last < end and text[last] in _NAME_CHARACTERS:
            last += 1
        done = last
        yield first, last


def _given(text: str, start: int, end: int, constants: set[str]) -> list[tuple[int, int]]:
    """Spans of the secret values given to the name at ``text[start:end]`` (none if it is not
    given one); a bare upper-case constant given to it joins ``constants``."""
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
        if not in_string and text.startswith("(", end) and (
            _word_before(text, _blanks_before(text, start)) in _DEFINERS
        ):
            return list(_returned(text, start))
        given = None if in_string else _BARE_GIVEN.match(text, end)
        if given is None:
            return []
    constant = _CONSTANT.match(text, given.end())
    if constant is not None and not (text[constant.end() : constant.end() + 1].isalnum()
                                     or text[constant.end() : constant.end() + 1] in "_.([\"'"):
        constants.add(constant[0])
    line_start = text.rfind("\n", 0, start) + 1
    in_comment = text.find("#", line_start, start) >= 0  # prose: brackets need not close
    limit = _line_end(text, start) if in_comment else len(text)
    return list(_value_literals(text, given.end(), limit))


def _returned(text: str, start: int) -> Iterator[tuple[int, int]]:
    """The literals that the function defined at ``start`` returns: its body is the lines after
    its ``def`` line that are indented deeper (or a brace language's, up to its closing brace)."""
    line_start = text.rfind("\n", 0, start) + 1
    indent = len(text[line_start:start]) - len(text[line_start:start].lstrip())
    end = _line_end(text, start)
    body = end
    while body < len(text):
        line_end = _line_end(text, body + 1)
        line = text[body + 1 : line_end]
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#") and len(line) - len(stripped) <= indent:
            if stripped[0] not in ")]}":  # a signature's closing line, or a brace body's end
                break
            if stripped[0] == "}":
                body = line_end
                break
        body = line_end
    for match in _RETURN.finditer(text, start, body):
        yield from _value_literals(text, match.end(), body)


def _credential_arguments(text: str, constants: set[str]) -> Iterator[Redaction]:
    """Positional literals given as credentials (``login("user", "...")``); an upper-case name
    given so joins ``constants``. Keyword arguments are names (``password="..."``), met by
    :func:`_named`."""
    for match in _CALL.finditer(text):
        name = text[match.start() : match.end()].rstrip("( \t")
        first = _CREDENTIAL_CALLS.get(name.lower())
        if first is None:
            continue
        for index, (start, end) in enumerate(_arguments(text, match.end() - 1)):
            argument = text[start:end].strip()
            if index < first:
                continue
            if _CONSTANT.fullmatch(argument):
                constants.add(argument)
            literal = _whole_literal(text, start, end)
            if literal is not None:
                yield Redaction(*literal, "secret", f"credential argument of {name}()")


def _arguments(text: str, opening: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each positional argument of the call whose ``(`` is at ``opening``."""
    depth, start, index = 0, opening + 1, opening + 1
    limit = min(len(text), opening + 2000)
    while index < limit:
        character = text[index]
        if character in _QUOTES:
            index = _string(text, index)[2]
            continue
        if character in _OPENERS:
            depth += 1
        elif character in _CLOSERS:
            if depth == 0:
                if text[start:index].strip():
                    yield from _positional(text, start, index)
                return
            depth -= 1
        elif character == "," and depth == 0:
            yield from _positional(text, start, index)
            start = index + 1
        index += 1


def _positional(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The argument ``text[start:end]`` unless it is a keyword argument or ``*args``."""
    argument = text[start:end].strip()
    if argument and not re.match(r"\*|[A-Za-z_]\w*[ \t]*=(?!=)", argument):
        yield start, end


def _whole_literal(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The content span of ``text[start:end]`` if it is one plain string literal (not an f-string
    template, not empty)."""
    first = _blanks_after(text, start)
    quote = first
    while quote < end and text[quote] in _STRING_PREFIXES:
        quote += 1
    if quote >= end or text[quote] not in _QUOTES or quote - first > 2:
        return None
    content_start, content_end, after = _string(text, quote)
    if _blanks_after(text, after) < end or content_end <= content_start:
        return None
    if "f" in text[first:quote].lower() and "{" in text[content_start:content_end]:
        return None
    return content_start, content_end


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
    hide nothing and are left; of an f-string template, the literal parts that look like a
    value (its ``{...}`` and ``f"Bearer {token}"`` are code).
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
            if content[1] > content[0] and _is_value(text, start, content[:2], index, brackets):
                if "f" in text[start : content[0]].lower() and "{" in text[content[0] : content[1]]:
                    yield from _template_parts(text, *content[:2])
                else:
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


def _template_parts(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The literal parts of the f-string template ``text[start:end]`` that look like a value."""
    for part_start, part_end in _literal_parts(text, start, end):
        part = text[part_start:part_end].strip(" -_:/.@")
        if _value_like(part) or _high_entropy(part):
            yield part_start, part_end


def _literal_parts(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of the parts of a template's content between its ``{...}`` fields."""
    part, index, depth = start, start, 0
    while index < end:
        character = text[index]
        if character == "{" and text.startswith("{{", index) and depth == 0:
            index += 2
            continue
        if character == "{":
            if depth == 0 and index > part:
                yield part, index
            depth += 1
        elif character == "}" and depth:
            depth -= 1
            part = index + 1
        index += 1
    if depth == 0 and end > part:
        yield part, end


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
        return False  # hidden already
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


# --- comments, docstrings and other literals: the prose and entropy rules ---------------------


def _lexed(text: str) -> Iterator[Redaction]:
    """The prose rule over each comment and string literal of code, the entropy rule over each
    literal (an f-string's literal parts)."""
    index = 0
    while True:
        match = _LEXEMES.search(text, index)
        if match is None:
            return
        if match["comment"] is not None:
            yield from _prose(text, *match.span())
            index = match.end()
            continue
        start, end, index = _string(text, match.start("quote"))
        if end <= start:
            continue
        if _BLANK.search(text, start, end):  # prose has blanks; "password:!0," is minified code
            yield from _prose(text, start, end)
        template = "f" in (match["prefix"] or "").lower() or match["quote"] == "`"
        parts = _literal_parts(text, start, end) if template and "{" in text[start:end] else ((start, end),)
        for part_start, part_end in parts:
            if _high_entropy(text[part_start:part_end]):
                share = _entropy(text[part_start:part_end])
                yield Redaction(part_start, part_end, "high-entropy",
                                f"high-entropy literal ({share:.1f} bits a character, {part_end - part_start} long)")


def _prose(text: str, start: int, end: int) -> Iterator[Redaction]:
    """``password: X``, ``token=X``, ``the key is X`` in ``text[start:end]``: the value-looking
    word after a secret word."""
    for word_start, word_end in _hinted_words(text, start, end):
        word = text[word_start:word_end].strip(".-")
        if not secret_name(word):
            continue
        given = _PROSE_GIVEN.match(text, word_start + len(text[word_start:word_end].rstrip(".-")))
        if given is None or given.end() > end:
            continue
        value = _PROSE_VALUE.match(text, given.end(), end)
        if value is None:
            continue
        secret = value["v"].rstrip(_PROSE_TRAILING)
        if _value_like(secret):
            yield Redaction(value.start("v"), value.start("v") + len(secret), "secret",
                            f"value after {word!r} in prose")


def _high_entropy(value: str) -> bool:
    """Whether ``value`` is one random-looking token: hex of :data:`MIN_HEX` characters or more
    with :data:`HEX_ENTROPY` bits a character, or a base64-like token of :data:`MIN_TOKEN` or
    more with upper- and lower-case letters and digits, :data:`ENTROPY_SHARE` of the most
    entropy its length allows, and classes of characters changing as often as in a random draw
    (:data:`CLASS_CHANGES`: ``North_American_Datum_1983`` changes at 0.38 of its positions)."""
    if len(value) < MIN_TOKEN or len(value) > 4096 or not _TOKEN.fullmatch(value):
        return False
    if _HEX.fullmatch(value):
        return len(value) >= MIN_HEX and not value.isdigit() and _entropy(value) >= HEX_ENTROPY
    if not (any(c.isdigit() for c in value) and any(c.isupper() for c in value) and any(c.islower() for c in value)):
        return False
    return (
        _class_changes(value) >= CLASS_CHANGES
        and _entropy(value) >= ENTROPY_SHARE * math.log2(min(len(value), 64))
    )


def _class_changes(value: str) -> float:
    """How often, between neighbouring letters and digits (separators left out), ``value``
    changes between lower case, upper case and digit: about 0.6 in a random base64 draw, under
    0.4 in words and names with digits (``select2/i18n/sr-Cyrl``)."""
    classes = [2 if c.isdigit() else 1 if c.isupper() else 0 for c in value if c.isalnum()]
    return sum(a != b for a, b in zip(classes, classes[1:])) / max(1, len(classes) - 1)


def _entropy(value: str) -> float:
    """Shannon entropy of ``value``'s characters, in bits a character."""
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


# --- lexing helpers ------------------------------------------------------------------------------


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
        if character == "\n" and quote != "`":
            break  # unterminated
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


def _blanks_after(text: str, index: int) -> int:
    """Where the blanks that start at ``index`` end."""
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _next(text: str, index: int) -> str:
    """The first non-blank character at or after ``index``."""
    index = _blanks_after(text, index)
    return text[index] if index < len(text) else ""


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end
