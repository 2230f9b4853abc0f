"""The languages the repo map reads: Python always, others when their grammar wheel is installed.

Each language pairs an official per-language grammar wheel with a tag query
shipped in ``queries/<name>.scm``. The optional wheels come with the
``grammars`` extra (``pip install "autogen-hook[grammars]"``); a missing one
means that language's files are skipped, silently.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tree_sitter import Language, Parser, Query

from .._state import cached

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


def extensions() -> frozenset[str]:
    """Extensions of every language whose grammar wheel is installed; nothing is loaded."""
    return frozenset(ext for name, _, _, _, exts in _KNOWN if _installed(name) for ext in exts)


def grammar_for(path: str) -> Grammar | None:
    """The grammar for ``path``'s language, loaded and compiled on first use."""
    name = _BY_EXTENSION.get(os.path.splitext(path)[1])
    return _grammar(name) if name is not None else None


def grammars() -> Mapping[str, Grammar]:
    """File extension -> grammar, for every installed language (loads them all)."""
    found = {ext: _grammar(_BY_EXTENSION[ext]) for ext in extensions()}
    return {ext: grammar for ext, grammar in found.items() if grammar is not None}


_BY_EXTENSION = {ext: name for name, _, _, _, exts in _KNOWN for ext in exts}


@cached(maxsize=None)
def _installed(name: str) -> bool:
    """Whether language ``name``'s grammar wheel is there, without loading it (that costs ~7 ms)."""
    module = next(m for n, m, _, _, _ in _KNOWN if n == name)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@cached(maxsize=None)
def _module(name: str) -> Any:
    """The grammar binding of language ``name`` (cheap to import), or None if not installed."""
    module = next(m for n, m, _, _, _ in _KNOWN if n == name)
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


@cached(maxsize=None)
def _grammar(name: str) -> Grammar | None:
    """Loading a language and compiling its tag query costs ~10-20 ms: only for files that need it."""
    binding = _module(name)
    if binding is None:
        return None
    _, _, function, query, _ = next(k for k in _KNOWN if k[0] == name)
    language = Language(getattr(binding, function)())
    return Grammar(name, language, Query(language, _query_text(query)))


@cached(maxsize=1)
def fingerprint() -> str:
    """Changes with the tag queries: an index built with other queries is rebuilt."""
    digest = hashlib.sha256()
    for query in sorted({known[3] for known in _KNOWN}):
        digest.update(_query_text(query).encode())
    return digest.hexdigest()[:16]


@cached(maxsize=None)
def _query_text(name: str) -> str:
    with open(os.path.join(_QUERIES, f"{name}.scm"), encoding="utf-8") as f:
        return f.read()
