"""The context's prompt sections, and fitting them into the token budget.

Tokens are estimated, not counted: ``ceil(characters / 4)``, the usual rule of
thumb for OpenAI and Anthropic tokenizers on English and code. A real
tokenizer would tie the package to one vendor's vocabulary (and tiktoken
downloads its files at run time); the estimate is close enough to keep a
prompt near its budget, and the budget is a setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ._caller import CallerFile, CallerUse
from ._summary import Snippet


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def fit(count: int, cost: Callable[[int], int], budget: int) -> int:
    """The largest ``k <= count`` with ``cost(k) <= budget``, by binary search (cost grows with k)."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if cost(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def caller_sections(caller: CallerFile, filename: str) -> list[str]:
    """The importing file's docstring and imports, then each use with its scope and types."""
    sections = []
    if caller.docstring or caller.imports:
        lines = [f"The importing file ({filename}):"]
        if caller.docstring:
            lines += ["  docstring:", _indent(caller.docstring)]
        if caller.imports:
            lines += ["  imports:", *(_indent(i) for i in caller.imports)]
        sections.append("\n".join(lines))
    if caller.uses:
        sections.append("How the caller uses these names:\n" + "\n".join(_use(u) for u in caller.uses))
    return sections


def session_section(lines: Sequence[str]) -> str:
    return "Earlier input in this interactive session:\n" + _indent("\n".join(lines))


def code_section(snippets: Sequence[Snippet]) -> str:
    """Snippets grouped by file in order of first appearance, each group under ``# file: path``."""
    by_file: dict[str, list[str]] = {}
    for snippet in snippets:
        by_file.setdefault(snippet.path, []).append(snippet.text)
    groups = [f"# file: {path}\n" + "\n\n".join(texts) for path, texts in by_file.items()]
    return (
        "Relevant code from this project (signatures and summaries, most relevant first):\n"
        "```\n" + "\n\n".join(groups) + "\n```"
    )


def _use(use: CallerUse) -> str:
    where = f"line {use.line}" + (f", in {use.scope}" if use.scope else "")
    text = f"{where}:\n{_indent(use.code)}"
    if use.types:
        text += "\n    known types: " + ", ".join(f"{e}: {t}" for e, t in use.types)
    if use.results:  # a value some function returned is no type: say where it came from
        text += "\n    results of calls: " + ", ".join(f"{e} = {f}(...)" for e, f in use.results)
    return text


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
