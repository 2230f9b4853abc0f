"""Activation: the .pth start-up hook, install()/uninstall(), the namespace, offline mode."""

from __future__ import annotations

import subprocess
import sys

from conftest import Project, import_failure, ok
from fakellm import Code, FakeLLM

GOOD = 'def f() -> int:\n    """One."""\n    return 1\n'


def test_pth_activates_the_hook_without_importing_anything(project: Project) -> None:
    out = ok(
        project.run(
            """
            import sys
            print(type(sys.meta_path[-1]).__name__, "autogen_hook" in sys.modules)
            try:
                import not_installed_anywhere  # the first miss loads the real finder
            except ModuleNotFoundError:
                pass
            print([type(f).__name__ for f in sys.meta_path if "Hook" in type(f).__name__])
            """
        )
    )
    assert out.split("\n")[:2] == ["AutogenHookBootFinder False", "['HookFinder']"]


def test_misses_while_site_runs_do_not_load_the_package(project: Project) -> None:
    """Debian's sitecustomize probes for a missing apport_python_hook on every start."""
    project.write("startup/sitecustomize.py", """
        try:
            import apport_python_hook
        except ImportError:
            pass
    """)
    out = ok(
        project.run(
            'import sys\nprint("sitecustomize" in sys.modules, "autogen_hook" in sys.modules)\n',
            env={"PYTHONPATH": str(project.root / "startup")},
        )
    )
    assert out.split() == ["True", "False"]


def test_a_bad_setting_fails_only_imports_that_could_be_ours(project: Project) -> None:
    script = """
        try:
            import no_such_module_here
        except ModuleNotFoundError:
            print("other imports unaffected")
        try:
            from autogen.t import f
        except ImportError as exc:
            print(type(exc).__name__)
    """
    for env in ({"AUTOGEN_HOOK_NAMESPACE": "1x"}, {"AUTOGEN_HOOK_DISABLE": "maybe"}):
        assert ok(project.run(script, env=env)).split("\n")[:2] == [
            "other imports unaffected", "SettingsError"
        ]


def test_projects_that_do_not_use_the_hook_get_no_cache_file(project: Project) -> None:
    ok(project.run("try:\n    import no_such_module_here\nexcept ImportError:\n    pass\n"))
    assert not (project.root / "__pycache__" / "pyproject.autogen-hook.marshal").exists()
    project.write("pyproject.toml", '[project]\nname = "x"\n\n[tool.autogen-hook]\nretries = 1\n')
    ok(project.run("try:\n    import no_such_module_here\nexcept ImportError:\n    pass\n"))
    assert (project.root / "__pycache__" / "pyproject.autogen-hook.marshal").exists()


def test_disable_switches_the_startup_hook_off(project: Project, llm: FakeLLM) -> None:
    out = ok(
        project.run(
            """
            import sys
            print("autogen_hook" in sys.modules)
            try:
                from autogen.t import f
            except ModuleNotFoundError as exc:
                print(type(exc).__name__)
            """,
            env={"AUTOGEN_HOOK_DISABLE": "1"},
        )
    )
    assert out.split() == ["False", "ModuleNotFoundError"]
    assert llm.chat_requests() == []


def test_import_is_idempotent_and_uninstall_is_clean(project: Project) -> None:
    out = ok(
        project.run(
            """
            import sys, importlib
            import autogen_hook
            importlib.reload(autogen_hook)
            print(sum(type(f).__name__ == "HookFinder" for f in sys.meta_path))
            autogen_hook.uninstall()
            autogen_hook.uninstall()
            print(sum(type(f).__name__ == "HookFinder" for f in sys.meta_path))
            try:
                import autogen.t
            except ModuleNotFoundError:
                print("gone")
            """
        )
    )
    assert out.split() == ["1", "0", "gone"]


def test_install_handle_is_a_context_manager(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    out = ok(
        project.run(
            """
            import sys
            import autogen_hook
            autogen_hook.uninstall()
            with autogen_hook.install(namespace="made") as handle:
                from made.t import f
                print(f(), type(handle).__name__)
            print(any(type(x).__name__ == "HookFinder" for x in sys.meta_path))
            """
        )
    )
    assert out.split() == ["1", "Installation", "False"]
    assert (project.store / "t.py").exists()


def test_install_keywords_override_the_environment(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    script = "import autogen_hook\nautogen_hook.install(offline=False)\nfrom autogen.t import f\nprint(f())\n"
    out = ok(project.run(script, env={"AUTOGEN_HOOK_OFFLINE": "1"}))
    assert out.strip() == "1"
    assert len(llm.chat_requests()) == 1


def test_namespace_setting_from_pyproject(project: Project, llm: FakeLLM) -> None:
    project.write(
        "pyproject.toml", '[project]\nname = "x"\n\n[tool.autogen-hook]\nnamespace = "gen"\n'
    )
    llm.openai.push(Code(GOOD))
    out = ok(
        project.run(
            """
            from gen.t import f
            print(f())
            try:
                import autogen.t
            except ModuleNotFoundError:
                print("autogen not served")
            """
        )
    )
    assert out.split("\n")[:2] == ["1", "autogen not served"]


def test_real_package_owning_the_namespace_wins_with_one_warning(
    project: Project, llm: FakeLLM
) -> None:
    project.write("autogen/__init__.py", "REAL = True\n")
    result = project.run(
        """
        import warnings
        warnings.simplefilter("always")
        import autogen
        print(autogen.REAL)
        for _ in range(2):
            try:
                from autogen.textutils import slugify
            except ModuleNotFoundError as exc:
                print(type(exc).__name__)
        """
    )
    assert ok(result).split() == ["True", "ModuleNotFoundError", "ModuleNotFoundError"]
    assert result.stderr.count("belongs to a real package") == 1
    assert "AUTOGEN_HOOK_NAMESPACE" in result.stderr
    assert result.stderr.startswith(f"{project.root / 'main.py'}:7: UserWarning")  # the user's line
    assert llm.chat_requests() == []


def test_install_warns_when_the_namespace_is_taken(project: Project) -> None:
    project.write("autogen/__init__.py", "")
    result = project.run("import autogen_hook\nautogen_hook.install()\n")
    assert "belongs to a real package" in ok(result) + result.stderr


def test_offline_mode_names_the_module_and_how_to_generate_it(
    project: Project, llm: FakeLLM
) -> None:
    out = import_failure(project, "from autogen.t import f", AUTOGEN_HOOK_OFFLINE="1")
    assert out.startswith("NotGeneratedError autogen.t")
    assert "no stored source for f" in out and "AUTOGEN_HOOK_OFFLINE=0" in out
    assert str(project.store / "t.py") in out
    assert llm.chat_requests() == []


def test_offline_attribute_probes_get_attribute_errors(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    ok(project.run("from autogen.t import f\n"))
    out = ok(
        project.run(
            """
            import autogen.t as t
            print(hasattr(t, "g"), getattr(t, "g", "default"), t.f())
            try:
                t.g()
            except AttributeError as exc:
                print("AttributeError", "no stored source for g" in str(exc))
            try:
                from autogen.t import g
            except ImportError as exc:
                print(type(exc).__name__)
            """,
            env={"AUTOGEN_HOOK_OFFLINE": "1"},
        )
    )
    assert out.split() == ["False", "default", "1", "AttributeError", "True", "NotGeneratedError"]


def test_offline_mode_writes_nothing_to_the_store(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    ok(project.run("from autogen.t import f\n"))
    before = sorted(p.relative_to(project.store) for p in project.store.rglob("*"))
    out = import_failure(project, "from autogen.u import f", AUTOGEN_HOOK_OFFLINE="1")
    assert out.startswith("NotGeneratedError autogen.u")
    assert sorted(p.relative_to(project.store) for p in project.store.rglob("*")) == before
    out = import_failure(project, "from autogen.t import f", AUTOGEN_HOOK_OFFLINE="1",
                         AUTOGEN_HOOK_CACHE_DIR=str(project.root / "fresh" / ".autogen"))
    assert out.startswith("NotGeneratedError autogen.t")
    assert not (project.root / "fresh" / ".autogen").exists()


def test_offline_mode_still_serves_the_store(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    ok(project.run("from autogen.t import f\n"))
    out = ok(project.run("from autogen.t import f\nprint(f())\n", env={"AUTOGEN_HOOK_OFFLINE": "1"}))
    assert out.strip() == "1"


def test_other_imports_are_untouched(project: Project) -> None:
    out = ok(
        project.run(
            """
            import sys
            finder = sys.meta_path[-1]
            print(finder.find_spec("json"), finder.find_spec("not_installed_anywhere"))
            try:
                import not_installed_anywhere
            except ModuleNotFoundError as exc:
                print(type(exc).__name__)
            """
        )
    )
    assert out.split() == ["None", "None", "ModuleNotFoundError"]


def test_dunder_private_and_keyword_names_are_never_generated(project: Project, llm: FakeLLM) -> None:
    out = ok(
        project.run(
            """
            import importlib
            import autogen.t as t
            print(hasattr(t, "__wrapped__"), hasattr(t, "_private"), hasattr(t, "__all__"),
                  hasattr(t, "class"))
            for module in ("autogen._x", "autogen.class"):
                try:
                    importlib.import_module(module)
                except ImportError as exc:
                    print(type(exc).__name__)
            """
        )
    )
    assert out.split() == ["False"] * 4 + ["ModuleNotFoundError", "InvalidNameError"]
    assert llm.chat_requests() == [] and not (project.store / "class.py").exists()


def test_after_uninstall_modules_already_imported_generate_nothing(
    project: Project, llm: FakeLLM
) -> None:
    out = ok(
        project.run(
            """
            import autogen_hook
            import autogen.t as t
            autogen_hook.uninstall()
            print(hasattr(t, "slugify"))
            """
        )
    )
    assert out.split() == ["False"]
    assert llm.chat_requests() == []


def test_command_line_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "autogen_hook", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "usage: autogen-hook" in result.stdout


def test_a_module_without_a_stored_file_names_none(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(GOOD))
    out = ok(
        project.run(
            """
            import autogen.zzz as z
            print(repr(z), getattr(z, "__file__", None))
            z.f()
            print(repr(z))
            """
        )
    )
    empty, stored = out.splitlines()
    assert empty == "<module 'autogen.zzz' (autogen-hook: nothing stored yet, names are generated on use)> None"
    assert stored == f"<module 'autogen.zzz' from '{project.store / 'zzz.py'}'>"
