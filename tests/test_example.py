"""The README's main example runs on a fresh machine: no key, no network, from any directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_env

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = [
    "title:      Hello, World! Imports that write themselves",
    "slug:       hello-world-imports-that-write-themselves",
    "preview:    Hello, World! Imports t…",
    "word count: 6",
]


@pytest.mark.parametrize("cwd", [ROOT, ROOT / "examples", Path("/")])
def test_quickstart_runs_from_the_pinned_store(cwd: Path) -> None:
    before = sorted(p.name for p in (ROOT / "examples" / ".autogen").iterdir())
    env = {**clean_env(), "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # nothing listens there
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED
    after = sorted(p.name for p in (ROOT / "examples" / ".autogen").iterdir() if p.name != "__pycache__")
    assert after == [n for n in before if n != "__pycache__"]
