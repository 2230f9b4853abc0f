"""Which files of the project the repo map may read.

In a git work tree ``git ls-files --cached --others --exclude-standard`` is the
most faithful answer to "what does git ignore"; elsewhere (or without git) the
``.gitignore`` files are read with pathspec. Either way some things are never
read: virtual environments, installed packages, the store, caches, ``.env*``
files, key files and files over the size limit.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pathspec

MAX_FILE_BYTES = 512 * 1024
_SKIPPED_DIRS = frozenset(
    {"site-packages", "node_modules", "__pycache__", ".git", ".hg", ".svn", ".autogen", ".tox",
     ".nox", ".venv", "venv"}
)
_SECRET_FILES = (".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "id_rsa*", "id_dsa*",
                 "id_ecdsa*", "id_ed25519*", ".netrc", ".pgpass", "*credentials*", "*.keystore")


@dataclass(frozen=True)
class SourceFile:
    """A file to index: path relative to the project, and what its stat says."""

    path: str
    size: int
    mtime_ns: int


def source_files(root: str, extensions: frozenset[str], excluded: tuple[str, ...] = ()) -> list[SourceFile]:
    """Every readable file under ``root`` with one of ``extensions`` that may be sent.

    ``excluded`` holds absolute directories never to enter (the store).
    """
    listed = _git_files(root)
    candidates = listed if listed is not None else _walk(root)
    skipped_roots = tuple(os.path.relpath(d, root) + os.sep for d in excluded)
    files = []
    for path in candidates:
        if os.path.splitext(path)[1] not in extensions or (path + os.sep).startswith(skipped_roots):
            continue
        if not sendable(path):
            continue
        try:
            stat = os.stat(os.path.join(root, path))
        except OSError:
            continue  # listed by git but deleted, or unreadable
        if stat.st_size <= MAX_FILE_BYTES:
            files.append(SourceFile(path, stat.st_size, stat.st_mtime_ns))
    return files


def sendable(path: str) -> bool:
    """False for secret-holding file names and for anything inside a skipped directory."""
    parts = path.split(os.sep)
    if any(part in _SKIPPED_DIRS for part in parts[:-1]):
        return False
    return not any(fnmatch.fnmatch(parts[-1], pattern) for pattern in _SECRET_FILES)


def _git_files(root: str) -> list[str] | None:
    """Tracked and untracked-but-not-ignored files, or None outside a work tree / without git."""
    try:
        result = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root, capture_output=True, timeout=30, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    paths = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    return [os.path.normpath(p) for p in dict.fromkeys(paths) if p and not _in_venv(root, p)]


def _in_venv(root: str, path: str) -> bool:
    """A virtual environment's files, when one sits in the tree without being ignored."""
    directory = os.path.dirname(path)
    while directory:
        if os.path.exists(os.path.join(root, directory, "pyvenv.cfg")):
            return True
        directory = os.path.dirname(directory)
    return False


def _walk(root: str) -> Iterator[str]:
    """Files under ``root`` that its .gitignore files do not ignore, in a stable order."""
    ignores: list[tuple[str, pathspec.PathSpec]] = []  # (directory relative to root, its rules)
    for directory, dirs, files in os.walk(root):
        relative = os.path.relpath(directory, root)
        relative = "" if relative == "." else relative
        ignores = [(d, s) for d, s in ignores if relative == d or relative.startswith(d + os.sep) or d == ""]
        spec = _gitignore(directory)
        if spec is not None:
            ignores.append((relative, spec))
        dirs[:] = sorted(
            d for d in dirs
            if d not in _SKIPPED_DIRS and not d.startswith(".")
            and not os.path.exists(os.path.join(directory, d, "pyvenv.cfg"))
            and not _ignored(ignores, os.path.join(relative, d), is_dir=True)
        )
        for name in sorted(files):
            path = os.path.join(relative, name)
            if not _ignored(ignores, path, is_dir=False):
                yield path


def _gitignore(directory: str) -> pathspec.PathSpec | None:
    try:
        with open(os.path.join(directory, ".gitignore"), encoding="utf-8", errors="replace") as f:
            return pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())
    except OSError:
        return None


def _ignored(ignores: list[tuple[str, pathspec.PathSpec]], path: str, *, is_dir: bool) -> bool:
    for base, spec in ignores:
        inner = os.path.relpath(path, base) if base else path
        if spec.match_file(inner.replace(os.sep, "/") + ("/" if is_dir else "")):
            return True
    return False
