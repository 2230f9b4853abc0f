"""Names: which modules and names the hook generates, where a module is stored, who asked.

One home for each rule, shared by the finder, ``generate()``/``agenerate()`` and the
``autogen-hook`` command: the rules return what is wrong as a sentence, and each caller
raises it in its own way (an exception, a usage error).

A leaf of the package: it imports only what Python has loaded at start-up (annotations
that name typing-only imports are quoted: no ``__future__``), because the finder uses it
on every import nobody else found.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import CodeType, FrameType


def nameable(name: str) -> bool:
    """An identifier that is not a keyword: what an import statement can name."""
    import keyword  # not loaded at start-up; only misses get here

    return name.isidentifier() and not keyword.iskeyword(name)


def generatable(name: str) -> bool:
    """Only public names are generated: tools probe dunders and privates."""
    return nameable(name) and not name.startswith("_")


def in_namespace(module: str, namespace: str) -> bool:
    """``namespace.x`` or deeper; the namespace package itself holds nothing generated."""
    top, dot, rest = module.partition(".")
    return top == namespace and bool(dot and rest)


def identifiers(module: str) -> bool:
    """Every part of ``module`` after the namespace is an identifier (keywords aside): a path
    inside the store (``autogen./etc/x`` is none)."""
    return all(part.isidentifier() for part in module.split(".")[1:])


def unimportable(module: str) -> str | None:
    """Why no import statement can name ``module`` (a part that is not an identifier or is a
    keyword); None if one can."""
    if identifiers(module) and all(nameable(part) for part in module.split(".")[1:]):
        return None
    return (
        f"cannot generate {module!r}: every part of a generated module's name must be a Python "
        "identifier (letters, digits, underscores) and not a keyword, so that it can be imported."
    )


def private(module: str) -> bool:
    """A module with a part starting with an underscore: never generated (``autogen._version``)."""
    return any(part.startswith("_") for part in module.split(".")[1:])


def module_problem(module: str, namespace: str) -> str | None:
    """Why ``module`` cannot be generated in ``namespace``; None if it can."""
    if not in_namespace(module, namespace):
        return (
            f"expected a dotted name inside the namespace {namespace!r} such as "
            f"'{namespace}.textutils', got {module!r}"
        )
    if private(module):
        return (
            f"cannot generate {module!r}: modules whose name starts with an underscore are never "
            "generated (tools probe such names). Choose a public name, or write the module yourself."
        )
    return unimportable(module)


def name_problem(module: str, name: str) -> str | None:
    """Why ``name`` is never generated in ``module``; None if it is."""
    if not nameable(name):
        return (
            f"cannot generate {name!r} in {module}: a generated name must be a Python identifier "
            "that is not a keyword, so that an import can ask for it."
        )
    if name.startswith("_"):
        return (
            f"cannot generate {module}.{name}: names starting with an underscore are never "
            "generated (tools probe such names on every module). Import a public name, or "
            f"define {name} yourself in the stored module."
        )
    return None


def names_problem(module: str, names: "Sequence[str]") -> str | None:
    """The first of ``names`` that is never generated, and why; None if every one is."""
    return next((p for p in (name_problem(module, n) for n in names) if p is not None), None)


def stored_file(store_dir: str, module_name: str) -> str:
    """``autogen.a.b`` lives at ``<store>/a/b.py`` (the store's layout, in one place)."""
    return os.path.join(store_dir, *module_name.split(".")[1:]) + ".py"


def metadata_file(store_dir: str, module_name: str) -> str:
    """``autogen.a.b`` -> ``<store>/.meta/a.b.json``."""
    return os.path.join(store_dir, ".meta", module_name.partition(".")[2] + ".json")


def accepted_file(store_dir: str) -> str:
    """The reviewed lock: what was accepted, by SHA-256."""
    return os.path.join(store_dir, "accepted.json")


_HERE = os.path.dirname(__file__)
_SKIPPED = tuple(  # not the caller: importlib, this package, the standard library, installed
    dict.fromkeys(  # packages; not all of sys.prefix, where projects live too (/usr/src/app)
        [
            "<frozen ",
            _HERE + os.sep,
            os.path.join(os.path.dirname(os.__file__), ""),
            *(
                os.path.join(p, "")
                for p in sys.path
                if os.path.basename(p) in ("site-packages", "dist-packages")
            ),
        ]
    )
)


def caller_frame() -> "FrameType | None":
    """The frame of the user code that started this import or attribute access.

    Frames of importlib, of this package and of installed libraries (the
    standard library, site-packages) are skipped, so an import driven by
    library code (mock.patch, an asyncio task) is attributed to the code that
    called the library. None if there is no such frame.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename.startswith(_SKIPPED) or _is_boot(frame.f_code)
    ):
        frame = frame.f_back
    return frame


def _is_boot(code: "CodeType") -> bool:
    """The stand-in finder autogen_hook.pth defines with exec (compiling it under a filename of
    its own would add a quarter to the instructions of an interpreter's start-up)."""
    return code.co_name == "find_spec" and code.co_filename == "<string>"


def caller_dir() -> str:
    """Directory of the importing file. Without one: the main script's (a multiprocessing
    child unpickling a generated function runs the parent's script as ``__main__``), else
    the cwd (a REPL, ``python -c``)."""
    frame = caller_frame()
    filename = frame.f_code.co_filename if frame is not None else ""
    if not filename or filename.startswith("<"):
        main = getattr(sys.modules.get("__main__"), "__file__", None) or ""
        filename = "" if main.startswith(_SKIPPED) else main  # 3.13's REPL: _pyrepl/__main__.py
    if filename and not filename.startswith("<"):
        return os.path.dirname(os.path.abspath(filename))
    return os.getcwd()
