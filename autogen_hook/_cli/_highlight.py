"""Python source in colour for a terminal, from the standard library's tokenizer.

No highlighting library is a dependency for this one use: keywords, names being defined,
strings, numbers, comments and decorators are enough to read a module by. ``NO_COLOR``
(no-color.org) turns it off; piped output is never coloured.
"""

from __future__ import annotations

import io
import keyword
import os
import token
import tokenize
from typing import TextIO

_RESET = "\x1b[0m"
_STYLE = {
    "keyword": "\x1b[1;35m",
    "definition": "\x1b[1;34m",
    "string": "\x1b[32m",
    "number": "\x1b[36m",
    "comment": "\x1b[2;37m",
    "decorator": "\x1b[33m",
}


def wanted(stream: TextIO) -> bool:
    """Colour for a terminal, unless NO_COLOR is set or the terminal is dumb."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def highlight(source: str) -> str:
    """``source`` with ANSI colours; as it is if it does not tokenize."""
    starts = [0]  # offset of each line
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    pieces: list[str] = []
    done = 0
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            style = _style(tok, previous)
            if style is not None:
                begin = starts[tok.start[0] - 1] + tok.start[1]
                end = starts[tok.end[0] - 1] + tok.end[1]
                pieces += [source[done:begin], _STYLE[style], source[begin:end], _RESET]
                done = end
            if tok.type not in (token.NL, token.NEWLINE, token.INDENT, token.DEDENT, token.COMMENT):
                previous = tok.string
    except (tokenize.TokenError, SyntaxError):
        return source
    return "".join(pieces) + source[done:]


def _style(tok: tokenize.TokenInfo, previous: str) -> str | None:
    if tok.type == token.COMMENT:
        return "comment"
    if tok.type == token.STRING or tok.type in _FSTRING:
        return "string"
    if tok.type == token.NUMBER:
        return "number"
    if tok.type == token.NAME:
        if previous in ("def", "class"):
            return "definition"
        if previous == "@":
            return "decorator"
        if keyword.iskeyword(tok.string):
            return "keyword"
    return None


_FSTRING = {getattr(token, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(token, n)}
