"""Settings: pyproject < environment < install(), each validated with the setting named."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Project, ok

from autogen_hook import SettingsError
from autogen_hook._settings import resolve


def write_pyproject(root: Path, table: str) -> None:
    (root / "pyproject.toml").write_text(f"[project]\nname='x'\n\n[tool.autogen-hook]\n{table}\n")


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROVIDER", "MODEL", "NAMESPACE", "OFFLINE", "MAX_ATTEMPTS", "RETRIES"):
        monkeypatch.delenv(f"AUTOGEN_HOOK_{name}", raising=False)
    settings = resolve(str(tmp_path))
    assert settings.provider == ("openai",)
    assert settings.namespace == "autogen"
    assert settings.max_attempts == 3 and settings.offline is False
    assert settings.store_dir == str(tmp_path / ".autogen")


def test_later_sources_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_pyproject(tmp_path, 'model = "from-pyproject"\nmax-attempts = 5\ntimeout = 9')
    monkeypatch.setenv("AUTOGEN_HOOK_MODEL", "from-env")
    monkeypatch.setenv("AUTOGEN_HOOK_TIMEOUT", "7.5")
    settings = resolve(str(tmp_path), {"timeout": 3})
    assert settings.model == "from-env"
    assert settings.max_attempts == 5
    assert settings.timeout == 3.0


def test_descriptions_merge_across_sources(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.autogen-hook.descriptions]\n"autogen.a" = "A"\n"autogen.b" = "B"')
    settings = resolve(str(tmp_path), {"descriptions": {"autogen.b": "B2"}})
    assert settings.descriptions == {"autogen.a": "A", "autogen.b": "B2"}


def test_provider_list_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGEN_HOOK_PROVIDER", "openai, anthropic")
    assert resolve(str(tmp_path)).provider == ("openai", "anthropic")
    monkeypatch.setenv("AUTOGEN_HOOK_PROVIDER", "openai : llama3.1:8b , anthropic:")
    assert resolve(str(tmp_path)).provider == ("openai:llama3.1:8b", "anthropic")
    monkeypatch.setenv("AUTOGEN_HOOK_PROVIDER", ":gpt-4o-mini")
    with pytest.raises(SettingsError, match="AUTOGEN_HOOK_PROVIDER.*each optionally followed by :model"):
        resolve(str(tmp_path))


def test_relative_cache_dir_from_pyproject_is_relative_to_the_project(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'cache-dir = "generated"')
    assert resolve(str(tmp_path)).store_dir == str(tmp_path / "generated")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AUTOGEN_HOOK_MAX_ATTEMPTS", "many", "AUTOGEN_HOOK_MAX_ATTEMPTS: expected a whole number >= 1, got 'many'"),
        ("AUTOGEN_HOOK_MAX_ATTEMPTS", "0", "expected a whole number >= 1"),
        ("AUTOGEN_HOOK_OFFLINE", "maybe", "AUTOGEN_HOOK_OFFLINE: expected true or false"),
        ("AUTOGEN_HOOK_TIMEOUT", "-1", "AUTOGEN_HOOK_TIMEOUT: expected a number"),
        ("AUTOGEN_HOOK_NAMESPACE", "not valid", "AUTOGEN_HOOK_NAMESPACE: expected a Python identifier"),
        ("AUTOGEN_HOOK_DESCRIPTIONS", "x", "AUTOGEN_HOOK_DESCRIPTIONS: expected a table"),
    ],
)
def test_bad_environment_values_name_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve(str(tmp_path))


def test_bad_pyproject_value_names_key_and_file(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'max-attempts = "three"')
    with pytest.raises(SettingsError) as info:
        resolve(str(tmp_path))
    assert "max-attempts in [tool.autogen-hook] of" in str(info.value)
    assert str(tmp_path / "pyproject.toml") in str(info.value)


def test_unknown_setting_is_an_error_naming_the_closest_or_listing_the_known_ones(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'namepsace = "gen"')
    with pytest.raises(SettingsError, match="unknown setting 'namepsace'; did you mean namespace[?]$"):
        resolve(str(tmp_path))
    write_pyproject(tmp_path, 'max_attempt = 2')  # underscores are accepted; the hint spells with hyphens
    with pytest.raises(SettingsError, match="unknown setting 'max_attempt'; did you mean max-attempts[?]$"):
        resolve(str(tmp_path))
    write_pyproject(tmp_path, 'colour = "blue"')
    with pytest.raises(SettingsError, match="unknown setting 'colour'; known settings: provider, model, "):
        resolve(str(tmp_path))


def test_unknown_environment_variables_are_errors_but_settings_in_either_spelling_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(tmp_path, "max_attempts = 5\ncontext-budget = 10")
    monkeypatch.setenv("AUTOGEN_HOOK_MAX_TOKENS", "99")
    settings = resolve(str(tmp_path))
    assert (settings.max_attempts, settings.context_budget, settings.max_tokens) == (5, 10, 99)
    monkeypatch.setenv("AUTOGEN_HOOK_MAX_TOKEN", "99")
    with pytest.raises(SettingsError, match="did you mean AUTOGEN_HOOK_MAX_TOKENS[?]"):
        resolve(str(tmp_path))


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.autogen-hook\nmodel = 1\n")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        resolve(str(tmp_path))


def test_settings_errors_are_import_and_value_errors() -> None:
    assert issubclass(SettingsError, ImportError) and issubclass(SettingsError, ValueError)


def test_install_rejects_bad_keywords_at_once() -> None:
    import autogen_hook

    with pytest.raises(SettingsError, match=r"install\(max_attempts=...\): expected a whole number"):
        autogen_hook.install(max_attempts="x")
    with pytest.raises(SettingsError, match="unknown setting 'modle'"):
        autogen_hook.install(modle="gpt")


def test_pyproject_table_is_cached_and_the_cache_follows_edits(project: Project) -> None:
    write_pyproject(project.root, 'namespace = "gen"')
    script = "import autogen_hook._settings as s, os\nprint(s.namespace_of(os.getcwd(), {}))\n"
    assert ok(project.run(script)).strip() == "gen"
    cache = project.root / "__pycache__" / "pyproject.autogen-hook.marshal"
    assert cache.exists()
    write_pyproject(project.root, 'namespace = "other"  # edited')
    assert ok(project.run(script)).strip() == "other"
    cache.write_bytes(b"garbage")
    assert ok(project.run(script)).strip() == "other"


def test_bad_setting_surfaces_on_import_as_import_error(project: Project) -> None:
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as e:\n    print(type(e).__name__, e)\n",
            env={"AUTOGEN_HOOK_MAX_ATTEMPTS": "lots"},
        )
    )
    assert out.startswith("SettingsError AUTOGEN_HOOK_MAX_ATTEMPTS")


def test_routes_are_parsed_into_provider_chains_and_checked(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        '[tool.autogen-hook.routes]\n"autogen.reports.*" = "codegen, openai"\n"autogen.ui.*" = ["anthropic"]',
    )
    assert resolve(str(tmp_path)).routes == {
        "autogen.reports.*": ("codegen", "openai"),
        "autogen.ui.*": ("anthropic",),
    }
    write_pyproject(tmp_path, '[tool.autogen-hook.routes]\n"autogen.x.*" = ""')
    with pytest.raises(SettingsError, match=r"routes in \[tool.autogen-hook\] of .* 'autogen.x.\*'"):
        resolve(str(tmp_path))


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_attempts", 1.9), ("retries", float("inf")), ("timeout", float("nan")), ("timeout", "nan"),
     ("rate_limit", "inf"), ("breaker_cooldown", "1e400")],
)
def test_numbers_that_are_not_usable_are_refused(tmp_path: Path, name: str, value: object) -> None:
    with pytest.raises(SettingsError, match=rf"install\({name}=\.\.\.\): expected a"):
        resolve(str(tmp_path), {name: value})


def test_a_bad_setting_met_by_an_import_names_the_module(project: Project) -> None:
    out = ok(
        project.run(
            "try:\n    from autogen.t import f\nexcept ImportError as exc:\n    print(type(exc).__name__, exc.name)\n",
            env={"AUTOGEN_HOOK_TIMEOUT": "soon"},
        )
    )
    assert out.split() == ["SettingsError", "autogen.t"]


def test_unknown_providers_are_named_with_where_they_were_set(project: Project) -> None:
    out = ok(
        project.run(
            """
            import autogen_hook
            for attempt in (lambda: autogen_hook.install(provider="nope"),
                            lambda: autogen_hook.install(routes={"autogen.r.*": "openai,nope"}),
                            lambda: autogen_hook.generate("autogen.t", ["f"], provider="nope")):
                try:
                    attempt()
                except autogen_hook.SettingsError as exc:
                    print(str(exc).split(";")[0])
            try:
                from autogen.t import f
            except ImportError as exc:
                print(type(exc).__name__, str(exc).split(";")[0])
            """,
            env={"AUTOGEN_HOOK_PROVIDER": "opnai"},
        )
    )
    assert out.splitlines() == [
        "install(provider=...): unknown provider 'nope'",
        "install(routes=...) 'autogen.r.*': unknown provider 'nope'",
        "generate(provider=...): unknown provider 'nope'",
        "SettingsError AUTOGEN_HOOK_PROVIDER: unknown provider 'opnai'",
    ]


def test_every_variable_the_library_names_is_a_setting_or_its_own() -> None:
    """A variable the library sets or reads for itself must never be reported as misspelt."""
    import re

    import autogen_hook
    from autogen_hook._settings import ENV_PREFIX, FIELDS, INTERNAL_VARIABLES

    package = Path(autogen_hook.__file__).parent
    named = {
        match
        for path in [*package.rglob("*.py"), package.parent / "autogen_hook.pth"]
        for match in re.findall(r"AUTOGEN_HOOK_[A-Z0-9_]*[A-Z0-9]", path.read_text())
    }
    settings = {ENV_PREFIX + name.upper() for name in FIELDS}
    assert named - settings == set(INTERNAL_VARIABLES)


def test_the_librarys_own_variables_are_not_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autogen_hook._settings import INTERNAL_VARIABLES

    for name in INTERNAL_VARIABLES:
        monkeypatch.setenv(name, "x")
    assert resolve(str(tmp_path)).max_tokens == 4096
