"""Pull the module's code out of a model reply: fenced or raw, with reasoning removed."""

from __future__ import annotations

import ast
import re

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.S | re.I)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w.+-]*)[^\n]*$")
_PYTHON_TAGS = {"python", "py", "python3", "py3"}
_CODE_MARKS = frozenset("=()[]{}<>_#@*/\\|`")


def extract_code(reply: str, names: tuple[str, ...]) -> str:
    """The code block that best answers the request; the whole reply if there is no fence.

    Models sometimes add usage examples in extra blocks, so among Python blocks
    the one defining most of the requested names wins, then the longest.
    A fence left open (a truncated reply) runs to the end.
    """
    text = _THINK.sub("", reply)
    blocks = _fenced_blocks(text)
    if not blocks:
        return text.strip()
    python = [code for tag, code in blocks if tag in _PYTHON_TAGS or not tag] or [
        code for _, code in blocks
    ]
    return max(python, key=lambda code: (_defined_count(code, names), len(code)))


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    blocks: list[tuple[str, str]] = []
    fence: str | None = None
    tag = ""
    body: list[str] = []
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, tag, body = match.group(1), match.group(2).lower(), []
        elif match and match.group(1).startswith(fence) and not match.group(2):
            blocks.append((tag, "\n".join(body)))
            fence = None
        else:
            body.append(line)
    if fence is not None:
        blocks.append((tag, "\n".join(body)))
    return blocks


def _defined_count(code: str, names: tuple[str, ...]) -> int:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return -1
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    return len(defined & set(names))


def held_no_code(reply: str) -> bool:
    """Whether ``reply`` is prose, not a module: no fenced block, does not parse as Python,
    and most of its lines (the first among them) read as sentences. A refusal or a question
    then gets "the reply held no code" rather than a syntax error on its first word."""
    text = _THINK.sub("", reply).strip()
    if not text:
        return True
    if _fenced_blocks(text):
        return False
    try:
        ast.parse(text)
        return False
    except (SyntaxError, ValueError):  # ValueError: null bytes, on Python 3.11
        pass
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    prose = [_reads_as_prose(line) for line in lines]
    return prose[0] and sum(prose) * 2 > len(prose)


def _reads_as_prose(line: str) -> bool:
    """Three words or more, starting with a letter, with hardly a character that code uses."""
    marks = sum(c in _CODE_MARKS for c in line)
    return line[0].isalpha() and len(line.split()) >= 3 and marks * 20 <= len(line)
