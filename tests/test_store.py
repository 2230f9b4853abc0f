"""The store: real source files, atomic writes, metadata, locks, and a light warm path."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Project, clean_env, ok
from fakellm import Code, FakeLLM, Slow

from autogen_hook._store import Store

FAILING = '''
def parse_price(text: str) -> float:
    """A price from text like '$3.50'."""
    cleaned = text.strip().lstrip("$")
    if not cleaned:
        raise ValueError("empty price text")
    return float(cleaned)
'''


def test_traceback_and_inspect_show_the_generated_source(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(FAILING))
    result = project.run(
        """
        import inspect
        from autogen.money import parse_price
        print(inspect.getsource(parse_price).splitlines()[0])
        parse_price("  ")
        """
    )
    assert result.returncode == 1
    assert result.stdout.strip() == "def parse_price(text: str) -> float:"
    stored = str(project.store / "money.py")
    assert f'File "{stored}", line' in result.stderr
    assert 'raise ValueError("empty price text")' in result.stderr


def test_checked_hash_bytecode_is_written_next_to_the_source(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.push(Code(FAILING))
    ok(project.run("from autogen.money import parse_price\n"))
    [pyc] = (project.store / "__pycache__").glob("money.*.pyc")
    flags = struct.unpack("<I", pyc.read_bytes()[4:8])[0]
    assert flags == 0b11  # hash-based and checked: a rewrite can never load stale code


def test_metadata_records_provenance(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code("def f(:"), Code(FAILING, model="model-x"))
    ok(project.run("from autogen.money import parse_price\n"))
    meta = Store(str(project.store)).metadata("autogen.money")
    assert meta is not None
    assert meta["provider"] == "openai" and meta["model"] == "model-x"
    assert meta["attempts"] == 2 and len(meta["problems"]) == 1
    assert meta["names"] == ["parse_price"]
    assert len(meta["prompt_sha256"]) == 64 and len(meta["source_sha256"]) == 64
    assert meta["written_at"].endswith("+00:00")
    record = project.store / ".meta" / "money.json"  # plain JSON, one key a line: it diffs well
    assert json.loads(record.read_text()) == meta and record.read_text().count("\n") > 10
    gitignore = (project.store / ".gitignore").read_text().splitlines()
    assert "__pycache__/" in gitignore and ".locks/" in gitignore and ".*.tmp" in gitignore
    assert ".meta/" not in gitignore  # committed with the modules: who wrote each, from what


def test_warm_import_loads_nothing_heavy(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(FAILING))
    ok(project.run("from autogen.money import parse_price\n"))
    out = ok(
        project.run(
            """
            import sys
            from autogen.money import parse_price
            heavy = ["httpx", "pydantic", "black", "tree_sitter", "json", "difflib", "asyncio", "tomllib"]
            print(parse_price("$2"), [m for m in heavy if m in sys.modules])
            """
        )
    )
    assert out.strip() == "2.0 []"


def test_two_processes_racing_make_one_request(project: Project, llm: FakeLLM) -> None:
    llm.openai.responder = lambda request: Slow(1.0, Code(FAILING))
    project.write("race.py", "from autogen.money import parse_price\nprint(parse_price('$1'))\n")
    first, second = project.popen("race.py"), project.popen("race.py")
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert [o[0].strip() for o in outputs] == ["1.0", "1.0"]
    assert len(llm.chat_requests()) == 1


def test_write_is_atomic_when_the_process_fails_midway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(str(tmp_path / ".autogen"))
    path = store.write("autogen.m", "X = 1\n", {})

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ImportError, match="cannot write autogen.m .*disk full"):
        store.write("autogen.m", "X = 2\n", {})
    assert Path(path).read_text() == "X = 1\n"
    assert sorted(p.name for p in Path(path).parent.iterdir() if p.is_file()) == [".gitignore", "m.py"]


def test_unwritable_store_is_a_clear_error(project: Project, llm: FakeLLM) -> None:
    if os.geteuid() == 0:
        blocker = project.root / "blocked"
        blocker.write_text("a file, not a directory")
        store = blocker / "store"
    else:  # pragma: no cover - depends on who runs the tests
        store = Path("/proc/autogen-hook-store")
    llm.openai.push(Code(FAILING))
    result = project.run(
        "from autogen.money import parse_price\n", env={"AUTOGEN_HOOK_CACHE_DIR": str(store)}
    )
    assert "StoreError" in result.stderr and "cache-dir setting" in result.stderr


def test_cache_dir_setting_moves_the_store(project: Project, llm: FakeLLM, tmp_path: Path) -> None:
    llm.openai.push(Code(FAILING))
    elsewhere = tmp_path / "elsewhere"
    ok(project.run("from autogen.money import parse_price\n", env={"AUTOGEN_HOOK_CACHE_DIR": str(elsewhere)}))
    assert (elsewhere / "money.py").exists() and not project.store.exists()


def test_store_sits_at_the_project_root_of_the_importing_file(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.push(Code(FAILING))
    project.write("pkg/deep/script.py", "from autogen.money import parse_price\n")
    ok(project.run_file("pkg/deep/script.py"))
    assert (project.store / "money.py").exists()


def test_store_follows_the_importing_file_not_the_working_directory(
    project: Project, llm: FakeLLM, tmp_path: Path
) -> None:
    llm.openai.push(Code(FAILING))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    script = project.write("tool.py", "from autogen.money import parse_price\nprint(parse_price('4'))\n")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=elsewhere, env=project.env, capture_output=True, text=True
    )
    assert ok(result).strip() == "4.0"
    assert (project.store / "money.py").exists()
    assert not (elsewhere / ".autogen").exists()


def test_repl_without_a_file_uses_the_current_directory(project: Project, llm: FakeLLM) -> None:
    llm.openai.push(Code(FAILING))
    (project.root / "pyproject.toml").unlink()
    result = subprocess.run(
        [sys.executable, "-"],
        input="from autogen.money import parse_price\nprint(parse_price('3'))\n",
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok(result).strip() == "3.0"
    assert (project.store / "money.py").exists()


def test_ctrl_c_during_generation_stores_nothing_and_frees_the_lock(
    project: Project, llm: FakeLLM
) -> None:
    import signal
    import time

    llm.openai.push(Slow(30, Code(FAILING)), Code(FAILING))
    project.write("slow.py", "from autogen.money import parse_price\nprint(parse_price('5'))\n")
    interrupted = project.popen("slow.py")
    while not llm.chat_requests():  # the request is on its way: the generation holds the lock
        time.sleep(0.05)
    interrupted.send_signal(signal.SIGINT)
    _, stderr = interrupted.communicate(timeout=20)
    assert "KeyboardInterrupt" in stderr
    assert not (project.store / "money.py").exists()
    assert ok(project.run_file("slow.py", timeout=30)).strip() == "5.0"  # the lock was released


def test_a_project_inside_the_interpreters_prefix_is_still_the_callers(
    project: Project, llm: FakeLLM, tmp_path: Path
) -> None:
    """Docker images put apps under /usr/src/app, inside Debian's sys.prefix (/usr)."""
    import shutil
    import uuid

    app = Path(sys.prefix) / f"autogen-hook-test-{uuid.uuid4().hex[:8]}"
    try:
        app.mkdir()
        (app / "pyproject.toml").write_text('[project]\nname = "app"\n')
        (app / "main.py").write_text("from autogen.t import f\nprint(f())\n")
        llm.openai.push(Code('def f() -> int:\n    """One."""\n    return 1\n'))
        result = subprocess.run([sys.executable, str(app / "main.py")], cwd=tmp_path, env=project.env,
                                capture_output=True, text=True, timeout=60)
        assert ok(result).strip() == "1"
        assert (app / ".autogen" / "t.py").exists() and not (tmp_path / ".autogen").exists()
        assert "from autogen.t import f" in llm.chat_requests()[0].body["messages"][-1]["content"]
    finally:
        shutil.rmtree(app, ignore_errors=True)


def test_a_spawned_child_unpickling_a_generated_function_uses_the_parents_store(
    project: Project, llm: FakeLLM, tmp_path: Path
) -> None:
    llm.openai.push(Code('def f() -> int:\n    """One."""\n    return 1\n'))
    main = project.write(
        "main.py",
        """
        import multiprocessing

        def call(function):
            return function()

        if __name__ == "__main__":  # the child imports autogen.pk only to unpickle f
            from autogen.pk import f

            with multiprocessing.get_context("spawn").Pool(1) as pool:
                print(pool.apply(call, (f,)))
        """,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([sys.executable, str(main)], cwd=elsewhere, env=project.env,
                            capture_output=True, text=True, timeout=60)
    assert ok(result).strip() == "1"
    assert len(llm.chat_requests()) == 1 and not (elsewhere / ".autogen").exists()


def test_each_file_gets_the_store_and_settings_of_its_own_project(
    project: Project, llm: FakeLLM, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    (other / "lib").mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "b"\n\n[tool.autogen-hook]\nmodel = "model-of-b"\n')
    (other / "lib" / "libb.py").write_text("from autogen.bstuff import g\n")
    llm.openai.push(Code('def f() -> int:\n    """One."""\n    return 1\n'),
                    Code('def g() -> int:\n    """Two."""\n    return 2\n'))
    out = ok(project.run(f"import sys\nfrom autogen.astuff import f\nsys.path.insert(0, {str(other / 'lib')!r})\n"
                         "import libb\nprint(f(), libb.g())\n"))
    assert out.strip() == "1 2"
    assert (project.store / "astuff.py").exists() and (other / ".autogen" / "bstuff.py").exists()
    assert [r.body["model"] for r in llm.chat_requests()] == ["gpt-4o-mini", "model-of-b"]


def test_a_stored_module_edited_without_changing_size_or_mtime_is_not_stale(project: Project) -> None:
    """Stores are committed and copied (cp -p, checkouts): timestamp bytecode would be trusted."""
    pinned = project.write(".autogen/pinned.py", "VALUE = 1\n")
    stamp = pinned.stat()
    script = "from autogen.pinned import VALUE\nprint(VALUE)\n"
    assert ok(project.run(script, env={"AUTOGEN_HOOK_OFFLINE": "1"})).strip() == "1"
    pyc = next((project.store / "__pycache__").glob("pinned.*.pyc"))
    assert struct.unpack("<I", pyc.read_bytes()[4:8])[0] == 0b11  # checked-hash bytecode
    pinned.write_text("VALUE = 2\n")
    os.utime(pinned, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert ok(project.run(script, env={"AUTOGEN_HOOK_OFFLINE": "1"})).strip() == "2"


def test_a_run_that_cannot_ask_writes_nothing(tmp_path: Path, llm: FakeLLM) -> None:
    """No key for api.openai.com: the error comes before any lock file, index or store."""
    root = tmp_path / "fresh"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "fresh"\n')
    (root / "shop.py").write_text("class Order:\n    total: float\n")
    (root / "main.py").write_text("from autogen.t import f\n")
    env = clean_env()  # no OPENAI_API_KEY, no OPENAI_BASE_URL
    result = subprocess.run([sys.executable, "main.py"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "autogen_hook.MissingCredentialsError: OPENAI_API_KEY is not set" in result.stderr
    assert sorted(p.name for p in root.iterdir()) == ["main.py", "pyproject.toml", "shop.py"]


def test_a_bad_grant_is_reported_before_anything_is_written(project: Project, llm: FakeLLM) -> None:
    project.write("pyproject.toml", '[project]\nname = "demo"\n\n[tool.autogen-hook]\nallow = ["filesytem"]\n')
    result = project.run("from autogen.t import f\n")
    assert "SettingsError: allow: unknown capability 'filesytem'; did you mean 'filesystem'?" in result.stderr
    assert not project.store.exists() and llm.requests == []


def test_without_a_project_marker_the_scripts_directory_is_the_root(
    tmp_path: Path, llm: FakeLLM
) -> None:
    """No pyproject.toml or .git above the script: the same store, from wherever it is run."""
    assert not any((p / m).exists() for p in tmp_path.parents for m in ("pyproject.toml", ".git"))
    app, first, second = tmp_path / "app", tmp_path / "one", tmp_path / "two"
    for directory in (app, first, second):
        directory.mkdir()
    (app / "main.py").write_text("from autogen.t import f\nprint(f())\n")
    llm.openai.responder = lambda request: Code('def f() -> int:\n    """One."""\n    return 1\n')
    for cwd in (first, second):
        result = subprocess.run([sys.executable, str(app / "main.py")], cwd=cwd,
                                env={**clean_env(), **llm.env()}, capture_output=True, text=True, timeout=60)
        assert ok(result).strip() == "1"
    assert len(llm.chat_requests()) == 1  # generated once
    assert (app / ".autogen" / "t.py").exists()
    assert not (first / ".autogen").exists() and not (second / ".autogen").exists()


def test_in_a_repl_without_a_marker_the_cwd_is_the_root(tmp_path: Path, llm: FakeLLM) -> None:
    here = tmp_path / "here"
    here.mkdir()
    llm.openai.push(Code('def f() -> int:\n    """One."""\n    return 1\n'))
    result = subprocess.run([sys.executable, "-c", "from autogen.t import f; print(f())"], cwd=here,
                            env={**clean_env(), **llm.env()}, capture_output=True, text=True, timeout=60)
    assert ok(result).strip() == "1"
    assert (here / ".autogen" / "t.py").exists()
