"""The languages the repo map reads: Python always, others when their grammar wheel is installed.

Each language pairs an official per-language grammar wheel with a tag query
shipped in ``queries/<name>.scm``. The optional wheels come with the
``grammars`` extra (``pip install "autogen-hook[grammars]"``); a missing one
means that language's files are skipped, silently.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Language, Parser, Query

_QUERIES = os.path.join(os.path.dirname(__file__), "queries")

# name -> (module, function returning the language, query file, file extensions)
_KNOWN: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("python", "tree_sitter_python", "language", "python", (".py", ".pyi")),
    ("javascript", "tree_sitter_javascript", "language", "javascript", (".js", ".jsx", ".mjs", ".cjs")),
    ("typescript", "tree_sitter_typescript", "language_typescript", "typescript", (".ts", ".mts", ".cts")),
    ("tsx", "tree_sitter_typescript", "language_tsx", "typescript", (".tsx",)),
    ("go", "tree_sitter_go", "language", "go", (".go",)),
    ("rust", "tree_sitter_rust", "language", "rust", (".rs",)),
)


@dataclass(frozen=True)
class Grammar:
    """One language: how to parse it and which tags to read from its trees."""

    name: str
    language: Language
    tags: Query

    def parser(self) -> Parser:
        """A new parser: parsers keep state, so each caller gets its own."""
        return Parser(self.language)


@lru_cache(maxsize=1)
def grammars() -> Mapping[str, Grammar]:
    """File extension -> grammar, for every language whose grammar is importable."""
    by_extension: dict[str, Grammar] = {}
    for name, module, function, query, extensions in _KNOWN:
        language = _load(module, function)
        if language is None:
            continue
        grammar = Grammar(name, language, Query(language, _query_text(query)))
        by_extension.update(dict.fromkeys(extensions, grammar))
    return by_extension


def grammar_for(path: str) -> Grammar | None:
    return grammars().get(os.path.splitext(path)[1])


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Changes with the tag queries: an index built with other queries is rebuilt."""
    digest = hashlib.sha256()
    for query in sorted({known[3] for known in _KNOWN}):
        digest.update(_query_text(query).encode())
    return digest.hexdigest()[:16]


def _load(module: str, function: str) -> Language | None:
    try:
        return Language(getattr(importlib.import_module(module), function)())
    except ImportError:
        return None


@lru_cache(maxsize=None)
def _query_text(name: str) -> str:
    with open(os.path.join(_QUERIES, f"{name}.scm"), encoding="utf-8") as f:
        return f.read()
