"""Which files of the project the repo map may read.

In a git work tree ``git ls-files --cached --others --exclude-standard`` is the
most faithful answer to "what does git ignore"; elsewhere (or without git) the
``.gitignore`` files are read with pathspec. Either way some things are never
read: virtual environments, installed packages, the store, caches, ``.env*``
files, key files and files over the size limit.

Listing a large tree costs more than the rest of a request, so a listing is
reused while nothing it depends on moved: the mtime of every directory it
covers (a file added or removed changes it) and of every ignore file (an edited
rule changes it). Each file is still stat-ed every time, so edits are seen.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pathspec

MAX_FILE_BYTES = 512 * 1024
_SKIPPED_DIRS = frozenset(
    {"site-packages", "node_modules", "__pycache__", ".git", ".hg", ".svn", ".autogen", ".tox",
     ".nox", ".venv", "venv"}
)
_SECRET_FILE = re.compile(
    "|".join(
        fnmatch.translate(pattern)
        for pattern in (".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "id_rsa*", "id_dsa*",
                        "id_ecdsa*", "id_ed25519*", ".netrc", ".pgpass", "*credentials*", "*.keystore")
    )
)


@dataclass(frozen=True)
class SourceFile:
    """A file to index: path relative to the project, and what its stat says."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Listing:
    """The candidate paths of a tree and the mtimes that tell whether they are still right."""

    paths: tuple[str, ...]
    mtimes: dict[str, int]  # relative directory or ignore file -> mtime_ns when listed

    def current(self, root: str) -> bool:
        return all(_mtime(os.path.join(root, p)) == m for p, m in self.mtimes.items())


def source_files(
    root: str,
    extensions: frozenset[str],
    excluded: tuple[str, ...] = (),
    previous: Listing | None = None,
) -> tuple[list[SourceFile], Listing]:
    """Every readable file under ``root`` with one of ``extensions`` that may be sent.

    ``excluded`` holds absolute directories never to enter (the store);
    ``previous`` is reused when it is still current.
    """
    listing = previous if previous is not None and previous.current(root) else _list(root, extensions)
    skipped = tuple(os.path.relpath(d, root) + os.sep for d in excluded)
    files = []
    for path in listing.paths:
        if (path + os.sep).startswith(skipped):
            continue
        try:
            stat = os.stat(os.path.join(root, path))
        except OSError:
            continue  # listed by git but deleted, or unreadable
        if stat.st_size <= MAX_FILE_BYTES:
            files.append(SourceFile(path, stat.st_size, stat.st_mtime_ns))
    return files, listing


def _list(root: str, extensions: frozenset[str]) -> Listing:
    listed = _git_files(root)
    if listed is None:
        mtimes: dict[str, int] = {}
        paths = [p for p in _walk(root, extensions, mtimes) if sendable(p)]
        return Listing(tuple(paths), mtimes)
    paths = [p for p in listed if os.path.splitext(p)[1] in extensions and sendable(p)]
    watched = {os.path.dirname(p) for p in listed} | {
        p for p in listed if os.path.basename(p) == ".gitignore"
    }
    git = _git_dir(root)
    watched |= {os.path.relpath(os.path.join(git, n), root) for n in ("index", "info/exclude")}
    return Listing(tuple(paths), {p: _mtime(os.path.join(root, p)) for p in watched})


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1  # absent: appearing later changes it


def sendable(path: str) -> bool:
    """False for secret-holding file names and for anything inside a skipped directory."""
    directory, name = os.path.split(path)
    if _SECRET_FILE.match(name):
        return False
    return not directory or _SKIPPED_DIRS.isdisjoint(directory.split(os.sep))


def _git_files(root: str) -> list[str] | None:
    """Tracked and untracked-but-not-ignored files, or None outside a work tree / without git."""
    if not _in_work_tree(root):
        return None  # spares starting git, which would only say so
    try:
        result = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root, capture_output=True, timeout=30, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    paths = [os.path.normpath(p) for p in result.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
    venvs = {os.path.dirname(p) + os.sep for p in paths if os.path.basename(p) == "pyvenv.cfg"}
    return [p for p in dict.fromkeys(paths) if not p.startswith(tuple(venvs))]


def _in_work_tree(directory: str) -> bool:
    return _git_dir(directory) != ""


def _git_dir(directory: str) -> str:
    """The nearest ``.git`` at or above ``directory`` ("" if none)."""
    while True:
        candidate = os.path.join(directory, ".git")
        if os.path.exists(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return ""
        directory = parent


def _walk(root: str, extensions: frozenset[str], mtimes: dict[str, int]) -> Iterator[str]:
    """Files under ``root`` with ``extensions`` that no .gitignore on their way ignores.

    Records in ``mtimes`` every directory it lists and every .gitignore it reads.
    """
    stack: list[tuple[str, list[tuple[str, pathspec.PathSpec]]]] = [("", [])]
    while stack:
        relative, ignores = stack.pop()
        directory = os.path.join(root, relative)
        mtimes[relative] = _mtime(directory)
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)  # unsorted: order does not matter, sorting costs 1/3
        except OSError:
            continue
        names = {entry.name for entry in entries}
        if "pyvenv.cfg" in names and relative:
            continue  # a virtual environment
        if ".gitignore" in names:
            gitignore = os.path.join(relative, ".gitignore")
            mtimes[gitignore] = _mtime(os.path.join(root, gitignore))
            ignores = [*ignores, (relative, _gitignore(os.path.join(root, gitignore)))]
        subdirectories = []
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                path = os.path.join(relative, name)
                if name not in _SKIPPED_DIRS and not name.startswith("."):
                    if not (ignores and _ignored(ignores, path, is_dir=True)):
                        subdirectories.append((path, ignores))
            elif name[name.rfind("."):] in extensions:
                path = os.path.join(relative, name)
                if not (ignores and _ignored(ignores, path, is_dir=False)):
                    yield path
        stack.extend(subdirectories)


def _gitignore(path: str) -> pathspec.PathSpec:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())
    except OSError:
        return pathspec.GitIgnoreSpec.from_lines([])


def _ignored(ignores: list[tuple[str, pathspec.PathSpec]], path: str, *, is_dir: bool) -> bool:
    for base, spec in ignores:
        inner = os.path.relpath(path, base) if base else path
        if spec.match_file(inner.replace(os.sep, "/") + ("/" if is_dir else "")):
            return True
    return False
