"""Which files of the project the repo map may read.

In a git work tree ``git ls-files --cached --others --exclude-standard`` is the
most faithful answer to "what does git ignore"; elsewhere (or without git) the
``.gitignore`` files are read with pathspec. Either way some things are never
read: hidden directories, virtual environments, installed packages, the store,
caches, ``.env*`` files, key files, files over the size limit and anything that
is not a regular file (a named pipe would block the reader). The caller's own
file is the exception: it is read whatever the rules say (``always``).

Listing a large tree costs more than the rest of a request, so a listing is
reused while nothing it depends on moved: the mtime of every directory that
may hold a file to list (a file added, removed or renamed anywhere changes the
mtime of the directory it is in, and a new directory that of its parent), of
every ignore file (an edited rule changes it) and of git's index, and the
listing's key: the extensions of the installed grammars and the directories
left out. Each file is still stat-ed every time, so edits are seen.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pathspec

from .._secret_files import CONFIG_SUFFIXES, secret_file
from ._redact import STRONG, secret_name

MAX_FILE_BYTES = 512 * 1024
_SKIPPED_DIRS = frozenset(
    {"site-packages", "node_modules", "__pycache__", ".git", ".hg", ".svn", ".autogen", ".tox",
     ".nox", ".venv", "venv"}
)
_Ignores = list[tuple[str, pathspec.PathSpec]]  # (directory, its .gitignore rules), outermost first


@dataclass(frozen=True)
class SourceFile:
    """A file to index: path relative to the project, and what its stat says."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Listing:
    """The candidate paths of a tree, what they were listed for, and the mtimes that tell whether
    they are still right."""

    key: str  # the extensions and the left-out directories the listing was made with
    paths: tuple[str, ...]
    mtimes: dict[str, int]  # directory, ignore file or git index -> mtime_ns when listed

    def current(self, root: str, key: str) -> bool:
        return self.key == key and all(_mtime(os.path.join(root, p)) == m for p, m in self.mtimes.items())


def source_files(
    root: str,
    extensions: frozenset[str],
    excluded: tuple[str, ...] = (),
    previous: Listing | None = None,
    always: tuple[str, ...] = (),
) -> tuple[list[SourceFile], Listing]:
    """Every readable file under ``root`` with one of ``extensions`` that may be sent.

    ``excluded`` holds absolute directories never to enter (the store);
    ``previous`` is reused when it is still current; ``always`` holds paths
    (relative to ``root``) listed whatever the rules say: the caller's file.
    """
    skipped = tuple(sorted(os.path.relpath(d, root) for d in excluded))
    key = json.dumps([sorted(extensions), skipped])
    current = previous is not None and previous.current(root, key)
    listing = previous if current and previous is not None else _list(root, extensions, skipped, key)
    wanted = [p for p in always if os.path.splitext(p)[1] in extensions and p not in listing.paths]
    files = []
    for path in (*listing.paths, *wanted):
        try:
            status = os.stat(os.path.join(root, path))
        except OSError:
            continue  # listed by git but deleted, or unreadable
        if stat.S_ISREG(status.st_mode) and status.st_size <= MAX_FILE_BYTES:
            files.append(SourceFile(path, status.st_size, status.st_mtime_ns))
    return files, listing


def read_regular(path: str) -> bytes | None:
    """The bytes of ``path`` if it is a regular file (opening a named pipe must not block)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with open(descriptor, "rb") as f:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        return f.read()


def _list(root: str, extensions: frozenset[str], skipped: tuple[str, ...], key: str) -> Listing:
    mtimes: dict[str, int] = {}
    listed = _git_files(root)
    if listed is None:
        paths = [p for p in _walk(root, extensions, skipped, mtimes) if sendable(p)]
        return Listing(key, tuple(paths), mtimes)
    for _ in _directories(root, skipped, mtimes):
        pass  # records the mtime of every directory a new file could appear in
    inside = tuple(s + os.sep for s in skipped)
    paths = [
        p for p in listed
        if os.path.splitext(p)[1] in extensions and sendable(p) and not (p + os.sep).startswith(inside)
    ]
    watched = {d for p in paths for d in _ancestors(p)} | {  # ignored in .gitignore yet tracked
        p for p in listed if os.path.basename(p) == ".gitignore"
    }
    watched |= set(_git_state_files(root))
    mtimes.update({p: _mtime(os.path.join(root, p)) for p in watched - mtimes.keys()})
    return Listing(key, tuple(paths), mtimes)


def _ancestors(path: str) -> Iterator[str]:
    """The directories ``path`` is in, innermost first, down to the root ("")."""
    while path:
        path = os.path.dirname(path)
        yield path


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1  # absent: appearing later changes it


def sendable(path: str) -> bool:
    """False for secret-holding file names and for anything inside a hidden or skipped directory."""
    directory, name = os.path.split(path)
    if secret_file(name):
        return False
    return not directory or not any(
        part.startswith(".") or part in _SKIPPED_DIRS for part in directory.split(os.sep)
    )


# A key of JSON ("key":), YAML (key:) or TOML and INI (key =), at the start of a line or after
# a brace or comma: where a configuration file names its settings.
_CONFIG_KEY = re.compile(r"""(?m)(?:^|[{,])[ \t]*["']?([A-Za-z_][\w.\-]*)["']?[ \t]*[:=]""")


def secret_source(path: str, text: str) -> bool:
    """Whether the file at ``path`` holding ``text`` is never to be read into a prompt: its name
    says it holds secrets, or it is configuration (JSON, YAML, TOML, INI) with a key that looks
    like a secret (``password:``, ``"api_key":``, ``client_secret =``)."""
    name = os.path.basename(path)
    if secret_file(name):
        return True
    if not name.lower().endswith(CONFIG_SUFFIXES):
        return False
    return any(secret_name(key.rsplit(".", 1)[-1]) == STRONG for key in _CONFIG_KEY.findall(text))


def _git_files(root: str) -> list[str] | None:
    """Tracked and untracked-but-not-ignored files, or None outside a work tree / without git."""
    if not _git_dir(root):
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


def _git_dir(directory: str) -> str:
    """The nearest ``.git`` at or above ``directory`` ("" if none): a directory, or the file of a
    linked work tree or submodule."""
    while True:
        candidate = os.path.join(directory, ".git")
        if os.path.exists(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return ""
        directory = parent


def _git_state_files(root: str) -> tuple[str, ...]:
    """What else decides git's answer: its index (``git add -f``, ``git rm --cached``), the
    repository's exclude file and the user's global ignore file (absolute paths)."""
    git = _git_dir(root)
    if os.path.isfile(git):  # "gitdir: <path>" of a linked work tree or a submodule
        try:
            with open(git, encoding="utf-8") as f:
                git = os.path.join(os.path.dirname(git), f.read().removeprefix("gitdir:").strip())
        except OSError:
            return ()
    common = git
    try:
        with open(os.path.join(git, "commondir"), encoding="utf-8") as f:
            common = os.path.join(git, f.read().strip())
    except OSError:
        pass  # a main work tree: the git directory is the common one
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return (
        os.path.join(git, "index"),
        os.path.join(common, "info", "exclude"),
        os.path.join(config, "git", "ignore"),
    )


def _walk(
    root: str, extensions: frozenset[str], skipped: tuple[str, ...], mtimes: dict[str, int]
) -> Iterator[str]:
    """Files under ``root`` with ``extensions`` that no .gitignore on their way ignores."""
    for relative, entries, ignores in _directories(root, skipped, mtimes):
        for entry in entries:
            name = entry.name
            if name[name.rfind(".") :] in extensions and not entry.is_dir(follow_symlinks=False):
                path = os.path.join(relative, name)
                if not (ignores and _ignored(ignores, path, is_dir=False)):
                    yield path


def _directories(
    root: str, skipped: tuple[str, ...], mtimes: dict[str, int]
) -> Iterator[tuple[str, list[os.DirEntry[str]], _Ignores]]:
    """Every directory under ``root`` that may hold files to send, with its entries and the
    .gitignore rules in force there: not hidden, skipped, ignored, ``skipped`` or a virtual
    environment. Records in ``mtimes`` each directory listed and each .gitignore read."""
    stack: list[tuple[str, _Ignores]] = [("", [])]
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
        yield relative, entries, ignores
        for entry in entries:
            name = entry.name
            if name in _SKIPPED_DIRS or name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            path = os.path.join(relative, name)
            if path not in skipped and not (ignores and _ignored(ignores, path, is_dir=True)):
                stack.append((path, ignores))


def _gitignore(path: str) -> pathspec.PathSpec:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())
    except OSError:
        return pathspec.GitIgnoreSpec.from_lines([])


def _ignored(ignores: _Ignores, path: str, *, is_dir: bool) -> bool:
    for base, spec in ignores:
        inner = os.path.relpath(path, base) if base else path
        if spec.match_file(inner.replace(os.sep, "/") + ("/" if is_dir else "")):
            return True
    return False
