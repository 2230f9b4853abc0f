"""Settings: defaults < ``[tool.autogen-hook]`` in pyproject.toml < ``AUTOGEN_HOOK_*`` < install().

This module sits on the warm import path, so it uses only modules Python has
already loaded at start-up (no typing, dataclasses, re or tomllib; no ``__future__``,
so annotations naming typing-only imports are quoted). The parsed
pyproject table is cached as marshal data in ``<project>/__pycache__`` keyed by
the file's size and mtime, because importing tomllib alone costs more than a
whole warm import.
"""

import marshal
import os
import sys

from ._state import STATE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, NoReturn

ENV_PREFIX = "AUTOGEN_HOOK_"
# variables with the prefix that the library sets for itself and that are no settings:
# autogen-hook doctor plants a canary credential while it probes the sandbox
INTERNAL_VARIABLES = ("AUTOGEN_HOOK_DOCTOR_TOKEN",)
PYPROJECT_TABLE = "[tool.autogen-hook]"
_CACHE_FORMAT = 1
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def in_ci(environ: "Mapping[str, str]") -> bool:
    """Whether ``CI`` is set to something true (``CI=0`` or ``CI=false`` is not CI)."""
    return environ.get("CI", "").strip().lower() not in _FALSE
_ROOT_MARKERS = ("pyproject.toml", ".git")
_HUGE = 1e12  # above any sensible count or number of seconds; also keeps out inf


def _fail(where: str, expected: str, value: object) -> "NoReturn":
    from ._errors import SettingsError

    raise SettingsError(f"{where}: expected {expected}, got {value!r}")


def _as_bool(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)):
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    _fail(where, "true or false (1/0, yes/no, on/off)", value)


def _as_number(value: object, where: str, kind: type, minimum: float) -> "Any":
    try:
        number = kind(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        number = None
    inexact = isinstance(value, float) and number != value  # 1.9 as a whole number; nan; inf
    if isinstance(value, bool) or number is None or inexact or not minimum <= number < _HUGE:
        noun = "a whole number" if kind is int else "a number"
        _fail(where, f"{noun} >= {minimum:g}", value)
    return number


def _as_int(minimum: int) -> "Callable[[object, str], int]":
    return lambda value, where: _as_number(value, where, int, minimum)


def _as_float(minimum: float) -> "Callable[[object, str], float]":
    return lambda value, where: _as_number(value, where, float, minimum)


def _as_optional_str(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        _fail(where, "a string", value)
    return value.strip() or None


def _as_identifier(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip().isidentifier():
        _fail(where, "a Python identifier such as 'autogen'", value)
    return value.strip()


def _as_names(value: object, where: str) -> tuple[str, ...]:
    """A list of names: a TOML/Python list, or a comma-separated string from the environment."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        _fail(where, "a list of names or a comma-separated string", value)
    return tuple(i.strip() for i in items if i.strip())


def _as_table(value: object, where: str) -> dict[str, str]:
    if isinstance(value, str):
        _fail(where, "a table (set it in pyproject.toml or with install())", value)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        _fail(where, "a table of strings", value)
    return dict(value)


def _as_examples(value: object, where: str) -> dict[str, tuple[str, ...]]:
    """Module -> examples, each a string of Python (checked when the module is generated)."""
    if not isinstance(value, dict):
        _fail(where, "a table of modules and lists of examples (pyproject.toml, install() or describe())", value)
    table = {}
    for module, examples in value.items():
        items = [examples] if isinstance(examples, str) else examples
        if not isinstance(items, (list, tuple)) or not all(isinstance(e, str) for e in items):
            _fail(f"{where} {module!r}", "a list of examples, each a string of Python", examples)
        table[str(module)] = tuple(e for e in items if e.strip())
    return table


def _as_grants(value: object, where: str) -> dict[str, tuple[str, ...]]:
    """Module glob -> capabilities and module names (a list or a comma-separated string)."""
    if not isinstance(value, dict):
        _fail(where, "a table of module globs and lists of capabilities "
              "(pyproject.toml or install())", value)
    return {str(glob): _as_names(names, f"{where} {glob!r}") for glob, names in value.items()}


def _as_provider(value: object, where: str) -> tuple[str, ...]:
    """A provider chain; an entry ``name:model`` gives that provider its own model."""
    names = _as_names(value, where)
    if not names or not all(n.partition(":")[0].strip() for n in names):
        _fail(where, "provider names (openai, anthropic, codegen, ...), each optionally "
              "followed by :model (anthropic:claude-sonnet-4-6)", value)
    entries = []
    for name in names:
        provider, _, model = name.partition(":")
        entries.append(f"{provider.strip()}:{model.strip()}" if model.strip() else provider.strip())
    return tuple(entries)


def _as_routes(value: object, where: str) -> dict[str, tuple[str, ...]]:
    """Module glob -> provider chain (a name, a comma-separated string or a list)."""
    if not isinstance(value, dict):
        _fail(where, "a table of module globs and providers (pyproject.toml or install())", value)
    return {
        str(glob): _as_provider(chain, f"{where} {glob!r}") for glob, chain in value.items()
    }


def _as_choice(*choices: str) -> "Callable[[object, str], str]":
    """One of ``choices`` (any case, blanks aside)."""

    def parse(value: object, where: str) -> str:
        text = value.strip().lower() if isinstance(value, str) else None
        if text is None or text not in choices:
            _fail(where, ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}", value)
        return text

    return parse


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _as_duration(value: object, where: str) -> float:
    """Seconds: a number, or a string with a unit (``"90d"``, ``"12h"``, ``"30m"``, ``"2w"``); 0 is off."""
    text = value.strip().lower() if isinstance(value, str) else value
    if text in ("", "off", "none"):
        return 0.0
    unit = 1
    if isinstance(text, str) and text[-1:] in _UNITS:
        text, unit = text[:-1], _UNITS[text[-1]]
    try:
        return float(_as_number(text, where, float, 0)) * unit
    except ValueError:  # SettingsError, with the unit in the value shown
        _fail(where, "a duration: seconds, or a number with s, m, h, d or w (90d)", value)


def _as_path(value: object, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, os.PathLike)):
        _fail(where, "a directory path", value)
    return os.fspath(value)


# name -> (parser, default, what it does). README's settings table mirrors this.
FIELDS: "dict[str, tuple[Callable[[object, str], Any], Any]]" = {
    "provider": (_as_provider, ("openai",)),
    "model": (_as_optional_str, None),
    "namespace": (_as_identifier, "autogen"),
    "cache_dir": (_as_path, None),
    "offline": (_as_bool, False),
    "disable": (_as_bool, False),
    "max_attempts": (_as_int(1), 3),
    "timeout": (_as_float(0.001), 120.0),
    "retries": (_as_int(0), 3),
    "allow": (_as_names, ()),
    "grants": (_as_grants, {}),
    "descriptions": (_as_table, {}),
    "context_budget": (_as_int(0), 4000),
    "stream": (_as_bool, True),
    "progress": (_as_bool, True),
    "concurrency": (_as_int(1), 8),
    "rate_limit": (_as_float(0), 0.0),
    "breaker_threshold": (_as_int(1), 5),
    "breaker_cooldown": (_as_float(0), 30.0),
    "routes": (_as_routes, {}),
    "agent_timeout": (_as_float(1), 900.0),
    "max_tokens": (_as_int(1), 4096),
    "review": (_as_choice("never", "new", "always"), "never"),
    "ttl": (_as_duration, 0.0),
    "stubs": (_as_bool, False),
    "repair": (_as_bool, False),
    "examples": (_as_examples, {}),
}
_MERGED = ("descriptions", "routes", "grants", "examples")  # tables: later sources add keys instead of replacing


class Settings:
    """One validated set of settings for one project."""

    __slots__ = ("project_root", "sources", *FIELDS)

    project_root: str
    sources: dict[str, str]  # setting -> where its value came from, for settings not left default
    provider: tuple[str, ...]
    model: str | None
    namespace: str
    cache_dir: str | None
    offline: bool
    disable: bool
    max_attempts: int
    timeout: float
    retries: int
    allow: tuple[str, ...]
    grants: dict[str, tuple[str, ...]]
    descriptions: dict[str, str]
    context_budget: int
    stream: bool
    progress: bool
    concurrency: int
    rate_limit: float
    breaker_threshold: int
    breaker_cooldown: float
    routes: dict[str, tuple[str, ...]]
    agent_timeout: float
    max_tokens: int
    review: str  # never, new (a model's module waits to be accepted), always (every hash)
    ttl: float
    stubs: bool
    repair: bool  # an exception escaping a stored module's function asks for a fixed version
    examples: dict[str, tuple[str, ...]]

    @property
    def store_dir(self) -> str:
        """Where generated modules live: ``cache_dir`` or ``<project>/.autogen``."""
        return self.cache_dir or os.path.join(self.project_root, ".autogen")

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"Settings({fields})"


def resolve(
    project_root: str,
    overrides: "Mapping[str, object] | None" = None,
    environ: "Mapping[str, str] | None" = None,
) -> Settings:
    """Build validated settings for ``project_root`` from every source, later winning.

    ``environ`` replaces ``os.environ`` (doctor resolves without the variables it reports as
    unknown). ``CI`` in it turns ``offline`` on unless some source sets ``offline``.
    """
    environ = os.environ if environ is None else environ
    settings = Settings()
    settings.project_root = project_root
    settings.sources = {}
    layers = _layers(project_root, overrides or {}, environ)
    for name, (parse, default) in FIELDS.items():
        value = default
        for where, raw, base in layers.get(name, ()):
            settings.sources[name] = where
            parsed = parse(raw, where)
            if name == "cache_dir" and parsed is not None:
                parsed = os.path.join(base, parsed)
            if name == "examples":  # every source's examples of a module count
                parsed = {module: (*value.get(module, ()), *more) for module, more in parsed.items()}
            value = {**value, **parsed} if name in _MERGED else parsed
        setattr(settings, name, value)
    if "offline" not in settings.sources and in_ci(environ):
        settings.offline = True  # a CI run never asks a model unless the project says so
        settings.sources["offline"] = "CI"
    return settings


def _layers(
    root: str, overrides: "Mapping[str, object]", environ: "Mapping[str, str]"
) -> "dict[str, list[tuple[str, Any, str]]]":
    """Every raw value per field as (where it came from, value, base dir for paths)."""
    layers: dict[str, list[tuple[str, Any, str]]] = {}
    for key, raw in pyproject_table(root).items():
        where = _where(key, root)
        name = _known(key, where, _hyphenated, _hyphenated)
        layers.setdefault(name, []).append((where, raw, root))
    cwd = os.getcwd()
    for variable, raw in environ.items():  # every one: a misspelt variable is an error too
        if variable.startswith(ENV_PREFIX) and variable not in INTERNAL_VARIABLES:
            name = _known(variable, "the environment", _env_spelling)
            layers.setdefault(name, []).append((variable, raw, cwd))
    for name, raw in overrides.items():
        where = f"install({name}=...)"
        layers.setdefault(_known(name, where, str), []).append((where, raw, cwd))
    return layers


def _known(
    given: str, where: str, spell: "Callable[[str], str]", normal: "Callable[[str], str]" = str
) -> str:
    """The setting ``given`` names, each setting spelt as ``where``'s source spells them
    (``spell``; ``normal`` folds other accepted spellings); else a SettingsError naming the
    closest setting."""
    spelled = {spell(n): n for n in FIELDS}
    name = spelled.get(normal(given))
    if name is not None:
        return name
    import difflib  # only on an error: the warm path imports nothing new

    from ._errors import SettingsError

    shared = len(os.path.commonprefix(list(spelled)))  # AUTOGEN_HOOK_ is no likeness, nor case
    likes = {known[shared:].lower(): known for known in spelled}
    close = difflib.get_close_matches(normal(given)[shared:].lower(), likes, n=1)
    hint = f"did you mean {likes[close[0]]}?" if close else f"known settings: {', '.join(spelled)}"
    raise SettingsError(f"{where}: unknown setting {given!r}; {hint}")


def unknown_variables(environ: "Mapping[str, str]") -> dict[str, str]:
    """Each ``AUTOGEN_HOOK_*`` variable of ``environ`` that names no setting (a likely typo), with
    the error that resolving would raise for it (it names the closest setting)."""
    unknown = {}
    for variable in environ:
        if variable.startswith(ENV_PREFIX) and variable not in INTERNAL_VARIABLES:
            try:
                _known(variable, "the environment", _env_spelling)
            except ValueError as exc:  # SettingsError
                unknown[variable] = str(exc)
    return unknown


def _hyphenated(name: str) -> str:
    """How pyproject spells a setting (``max-attempts``; ``max_attempts`` is accepted too)."""
    return name.replace("_", "-")


def _env_spelling(name: str) -> str:
    return ENV_PREFIX + name.upper()


def check_overrides(overrides: "Mapping[str, object]") -> None:
    """Validate install() keywords at once, so a typo fails where it was written."""
    for name, raw in overrides.items():
        where = f"install({name}=...)"
        FIELDS[_known(name, where, str)][0](raw, where)


def namespace_of(project_root: str, overrides: "Mapping[str, object]") -> str | None:
    """The namespace the hook serves for this project, or None while disabled.

    Cheaper than :func:`resolve`, which the finder cannot afford for every
    import nobody else found: it reads only ``disable`` and ``namespace``.
    """
    table = pyproject_table(project_root)
    values: dict[str, object] = {}
    for name in ("disable", "namespace"):
        for key in (name, ENV_PREFIX + name.upper()):
            source = table if key == name else os.environ
            if key in source:
                values[name] = FIELDS[name][0](source[key], _where(key, project_root))
        if name in overrides:
            values[name] = FIELDS[name][0](overrides[name], f"install({name}=...)")
    if values.get("disable"):
        return None
    return values.get("namespace", FIELDS["namespace"][1])  # type: ignore[return-value]


def possible_namespaces(project_root: str, overrides: "Mapping[str, object]") -> set[str]:
    """Every name some source gives as the namespace, valid or not, and the default."""
    try:
        table = pyproject_table(project_root)
    except ValueError:  # SettingsError: not valid TOML
        table = {}
    given = (table.get("namespace"), os.environ.get(ENV_PREFIX + "NAMESPACE"), overrides.get("namespace"))
    return {FIELDS["namespace"][1], *(v.strip() for v in given if isinstance(v, str))}


def _where(key: str, project_root: str) -> str:
    if key.startswith(ENV_PREFIX):
        return key
    return f"{key} in {PYPROJECT_TABLE} of {os.path.join(project_root, 'pyproject.toml')}"


def project_root_of(directory: str) -> str:
    """Nearest ancestor of ``directory`` (the importing file's, or the cwd in a REPL) holding
    pyproject.toml or .git; without one, ``directory`` itself: a script uses the same store
    from wherever it is run."""
    found = STATE.roots.get(directory)
    if found is None:
        found = STATE.roots[directory] = _search_root(directory) or os.path.abspath(directory)
    return found


def _search_root(directory: str) -> str | None:
    current = os.path.abspath(directory)
    while True:
        if any(os.path.exists(os.path.join(current, m)) for m in _ROOT_MARKERS):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def pyproject_table(root: str) -> "dict[str, Any]":
    """The ``[tool.autogen-hook]`` table of ``root``'s pyproject.toml ({} if none)."""
    path = os.path.join(root, "pyproject.toml")
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    key = (stat.st_mtime_ns, stat.st_size)
    memo = STATE.tables.get(path)
    if memo is None or memo[0] != key:
        memo = STATE.tables[path] = (key, _read_table(path, key))
    return memo[1]


def _read_table(path: str, key: tuple[int, int]) -> "dict[str, Any]":
    """Projects that never mention us get no cache file; the others one in their __pycache__."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return {}
    if b"autogen-hook" not in data and b"autogen_hook" not in data:
        return {}
    cache = os.path.join(os.path.dirname(path), "__pycache__", "pyproject.autogen-hook.marshal")
    try:
        with open(cache, "rb") as f:
            fmt, cached_key, table = marshal.loads(f.read())  # load(f) reads piece by piece
        if fmt == _CACHE_FORMAT and tuple(cached_key) == key:
            return table  # type: ignore[no-any-return]
    except (OSError, EOFError, ValueError, TypeError):
        pass  # a missing or broken cache is a miss
    table = _parse_table(path, data)
    if not sys.dont_write_bytecode:
        _write_cache(cache, (_CACHE_FORMAT, key, table))
    return table


def _parse_table(path: str, data: bytes) -> "dict[str, Any]":
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        from ._errors import SettingsError

        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    table = document.get("tool", {}).get("autogen-hook", {})
    if not isinstance(table, dict):
        _fail(f"{PYPROJECT_TABLE} of {path}", "a table", table)
    return table


def _write_cache(cache: str, payload: "tuple[int, tuple[int, int], dict[str, Any]]") -> None:
    from ._atomic import write_atomic  # only when the pyproject changed

    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        write_atomic(cache, marshal.dumps(payload))
    except (OSError, ValueError):
        pass  # the cache is an optimisation; a read-only project still works
