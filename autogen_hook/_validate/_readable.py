"""What the import check may read: the sandbox's Landlock rules, from this process's sys.path.

The interpreter's directories (its prefixes and the executable's), the system's libraries
and those of ``LD_LIBRARY_PATH`` are readable whole, unless one of them holds the user's
home or working directory. Every other ``sys.path`` entry (the script's directory, an editable install's
project) is where secrets sit next to code (``.env``, keys), so only its importable code is
readable: the directory's listing, its module files and its packages, never a hidden entry,
a name that looks like a secret (``_secret_files``) or the home directory itself. A package
(a directory with ``__init__.py`` or other modules directly in it, such as a namespace
package's portion or a wheel's ``.libs``) is readable whole when nothing hidden or
secret-looking is anywhere in it, else entry by entry by the same rules. With an import
finder installed by a ``.pth`` file (setuptools' editable installs), what the candidate's
own imports resolve to is readable too: such a finder serves code from outside sys.path.

The list is kept while no directory it was made from changed (a new file changes its
directory's mtime), so a check costs a few stats, not a walk.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import sys

from .._secret_files import secret_file
from .._state import STATE

SYSTEM = (  # read: libraries and their loader's cache, time zones, users' names (getpass, ~user)
    "/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache",
    "/usr/share/zoneinfo", "/etc/localtime", "/etc/passwd", "/etc/group", "/dev/urandom",
)
DEVICES = ("/dev/null",)  # read and write
_MODULE_SUFFIXES = tuple(importlib.machinery.all_suffixes())
Rule = tuple[str, str]  # (path, kind): a kind of _sandbox.ACCESS

def rules(path: list[str], source: str | None = None) -> list[Rule]:
    """The rules for a check whose ``sys.path`` is ``path`` (absolute); ``source`` is the
    candidate's, whose imports are resolved when a finder outside sys.path may serve them."""
    key = (*path, os.environ.get("LD_LIBRARY_PATH", ""))
    made: tuple[tuple[str, ...], list[Rule], dict[str, int]] | None = STATE.readable  # key, rules, mtimes
    if made is None or made[0] != key or any(_mtime(d) != m for d, m in made[2].items()):
        mtimes: dict[str, int] = {}
        made = STATE.readable = (key, _base_rules(path, mtimes), mtimes)
    found = made[1]
    if source is not None:
        found = found + [r for r in _import_rules(source) if not _covered(r[0], found)]
    return found


def _base_rules(path: list[str], mtimes: dict[str, int]) -> list[Rule]:
    found: list[Rule] = []
    for granted in (*_whole_dirs(), *(p for p in SYSTEM if os.path.exists(p))):
        if not _covered(granted, found):
            found.append((granted, "tree" if os.path.isdir(granted) else "file"))
    found += [(p, "device") for p in DEVICES if os.path.exists(p)]
    home = os.path.realpath(os.path.expanduser("~"))
    for entry in dict.fromkeys(os.path.realpath(p) for p in path):
        if _covered(entry, found):
            continue
        if os.path.isfile(entry):  # a zip archive
            found.append((entry, "file"))
        elif os.path.isdir(entry):
            _importable(entry, found, mtimes, home, data=False)
    return found


def _whole_dirs() -> list[str]:
    """Prefixes, the executable's directory and the loader's library path, except one that
    holds the home or the cwd."""
    home, cwd = os.path.realpath(os.path.expanduser("~")), os.path.realpath(os.getcwd())
    candidates = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable)),
                  *os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep))
    dirs = [os.path.realpath(p) for p in candidates if p]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d) and not _inside(home, d) and not _inside(cwd, d)]


def _importable(directory: str, found: list[Rule], mtimes: dict[str, int], home: str, data: bool) -> None:
    """Rules for the code in ``directory``: its listing, its module files (with ``data``, inside
    a package: every file) and its packages; never a hidden or secret-looking entry, never
    your home directory or one that holds it."""
    mtimes[directory] = _mtime(directory)
    found.append((directory, "list"))
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if name.startswith(".") or secret_file(name):
            continue
        if entry.is_dir(follow_symlinks=False):  # a linked directory could be anywhere
            if _inside(home, entry.path) or not (data or _package(entry.path, mtimes)):
                continue
            if _clean(entry.path, mtimes):
                found.append((entry.path, "tree"))
            else:  # a package with a secret in it goes entry by entry
                _importable(entry.path, found, mtimes, home, data=True)
        elif entry.is_file() and (data or name.endswith(_MODULE_SUFFIXES)):
            found.append((entry.path, "file"))


def _package(directory: str, mtimes: dict[str, int]) -> bool:
    """A regular package, a namespace package's portion (modules directly in it), or bytecode."""
    if os.path.basename(directory) == "__pycache__":
        return True
    mtimes[directory] = _mtime(directory)  # a module added later makes it one
    try:
        return any(n.endswith(_MODULE_SUFFIXES) for n in os.listdir(directory))
    except OSError:
        return False


def _clean(directory: str, mtimes: dict[str, int]) -> bool:
    """Nothing hidden or secret-looking anywhere below; records every directory's mtime."""
    clean = True
    for root, dirs, files in os.walk(directory):
        mtimes[root] = _mtime(root)
        if any(n.startswith(".") or secret_file(n) for n in (*dirs, *files)):
            clean = False
    return clean


def _import_rules(source: str) -> list[Rule]:
    """Where the candidate's top-level imports resolve, when that is outside sys.path."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = {a.name.partition(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.partition(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    found: list[Rule] = []
    for name in sorted(names):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        for location in spec.submodule_search_locations or ():
            if os.path.isdir(location):
                found.append((os.path.realpath(location), "tree"))
        if spec.origin and os.path.isfile(spec.origin) and not spec.submodule_search_locations:
            found.append((os.path.realpath(spec.origin), "file"))
    return found


def _covered(path: str, found: list[Rule]) -> bool:
    return any(kind == "tree" and _inside(path, granted) for granted, kind in found)


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1
