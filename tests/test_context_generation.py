"""The context engine through real imports in fresh interpreters: what reaches the model."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

import secrets_corpus
from fixture_code import MODELS
from conftest import Project, ok, read_terminal
from fakellm import Code, FakeLLM, prompt_of

from autogen_hook._store import strip_header
from autogen_hook.context._redact import redact

TOTAL_PRICE = '''
from decimal import Decimal


def total_price(order, tax=Decimal("0")) -> Decimal:
    """Sum of quantity times unit price, plus tax."""
    subtotal = sum(item.quantity * item.unit_price for item in order.items)
    return subtotal * (1 + tax)
'''


CHECKOUT = '''
from decimal import Decimal

from shop.models import LineItem, Order
from autogen.pricing import total_price


def checkout(order: Order) -> Decimal:
    return total_price(order, tax=Decimal("0.5"))


print(checkout(Order("A1", [LineItem("x", 2, Decimal("3"))])))
'''


def shop_project(project: Project) -> None:
    project.write("shop/__init__.py", "")
    project.write("shop/models.py", MODELS)


def checkout_prompt(project: Project, llm: FakeLLM, script: str, printed: str) -> str:
    """The prompt that generating total_price for ``script`` in the shop sent; the script printed
    ``printed``."""
    shop_project(project)
    llm.openai.push(Code(TOTAL_PRICE))
    assert ok(project.run(script)).strip() == printed
    return prompt_of(llm.chat_requests()[0])


def test_the_prompt_carries_the_types_the_caller_passes(project: Project, llm: FakeLLM) -> None:
    prompt = checkout_prompt(project, llm, CHECKOUT, "9.0")
    assert "line 8, in checkout:\n    total_price(order, tax=Decimal(\"0.5\"))" in prompt
    assert "known types: order: Order, tax=Decimal(\"0.5\"): Decimal" in prompt
    assert "Relevant code from this project" in prompt and "# file: shop/models.py" in prompt
    assert "class Order:\n    \"\"\"An order placed by a customer.\"\"\"\n    number: str" in prompt
    assert "    items: list[LineItem]\n" in prompt
    assert "from shop.models import LineItem, Order" in prompt  # the caller's imports
    assert (project.store / ".index" / "tags.sqlite3").exists()
    assert ".index/" in (project.store / ".gitignore").read_text()


THROUGH_THE_MODULE = """
from decimal import Decimal

import autogen.pricing as pricing
from shop.models import LineItem, Order

order = Order('A1', [LineItem('x', 2, Decimal('3'))])
print(pricing.total_price(order))
"""


def test_a_use_through_the_module_is_introduced_as_a_use(project: Project, llm: FakeLLM) -> None:
    prompt = checkout_prompt(project, llm, THROUGH_THE_MODULE, "6")
    assert "The line that uses the module (main.py, line 7):\n    print(pricing.total_price(order))" in prompt
    assert "The importing statement" not in prompt
    assert "    import autogen.pricing as pricing" in prompt  # the import is among the file's imports


def test_no_secret_reaches_the_model(project: Project, llm: FakeLLM) -> None:
    """Secrets in the caller, the project, the description, a .env file and a git-ignored module."""
    corpus = secrets_corpus
    env_only, ignored_only = "envfile-only-marker-5521", "gitignored-only-marker-7731"
    project.write(
        "pyproject.toml",
        f'[project]\nname = "demo"\nversion = "0"\n\n[tool.autogen-hook.descriptions]\n'
        f'"autogen.billing" = "Billing helpers; the CI token is {corpus.GITHUB}."\n',
    )
    project.write("shop/__init__.py", "")
    project.write("shop/settings.py", corpus.python_module())
    project.write(".env", f"OPENAI_API_KEY={corpus.OPENAI}\nNOTE={env_only}\n")
    project.write(".env.production.py", f'def from_env_file() -> str:\n    return "{env_only}"\n')
    project.write(".gitignore", "shop/private.py\n")
    project.write("shop/private.py", f'def signing_value() -> str:\n    return "{ignored_only}"\n')
    subprocess.run(["git", "init", "-q"], cwd=project.root, check=True)
    llm.openai.push(Code('def charge(*args: object, **kwargs: object) -> str:\n    """Charge."""\n    return "ok"\n'))
    names = ", ".join(corpus.NAMES)
    caller = f'''
        """Billing entry point. Staging JWT: {corpus.JWT}"""
        from shop import settings
        from shop.settings import ({names})
        from shop.private import signing_value
        from autogen.billing import charge

        LOCAL_KEY = "{corpus.ANTHROPIC}"
        from_env_file = None  # a name the project defines only in .env.production.py
        print(charge({names}, LOCAL_KEY, signing_value, from_env_file,
                     password="{corpus.ADMIN_PASSWORD}", dsn="{corpus.DATABASE_URL}",
                     auth=("admin", "{corpus.AUTH_TUPLE}")))
    '''
    assert ok(project.run(caller)).strip() == "ok"
    [request] = llm.chat_requests()
    raw = json.dumps(request.body, ensure_ascii=False)
    prompt = prompt_of(request)
    for secret in (*corpus.NEVER_SENT, env_only, ignored_only):
        assert secret not in raw and secret not in prompt, secret
    assert "# file: shop/settings.py" in prompt  # the module was sent, redacted
    for kind in set(corpus.EXPECTED.values()):
        assert f"[REDACTED {kind}]" in prompt, kind
    assert "Billing helpers; the CI token is [REDACTED github-token]." in prompt


def test_no_secret_beyond_names_reaches_the_model(project: Project, llm: FakeLLM) -> None:
    """Comments, docstrings, innocuous names, templates, arguments, returns; config files."""
    corpus = secrets_corpus
    project.write("shop/__init__.py", "")
    project.write("shop/helpers.py", corpus.helpers_module())
    project.write("config.json", '{"smtp": {"password": "json-config-only-4410"}}')
    project.write("shop/secrets.py", 'RELAY = "secrets-module-only-5521"\n')
    llm.openai.push(Code('def notify(*args: object) -> str:\n    """Notify."""\n    return "sent"\n'))
    caller = f'''
        """Notifications. The key is {corpus.COMMENT_KEY} for now."""
        from shop.helpers import BANNER, FALLBACK, HEADERS, HEROKU, MAILGUN, WEBHOOK_TOKEN, CHECKSUM_SEED
        from shop.helpers import ROUTING, get_api_key, open_db, reset, send_report, upstream_token
        from autogen.alerts import notify

        # token={corpus.COMMENT_TOKEN}
        print(notify(BANNER, FALLBACK, HEADERS, HEROKU, MAILGUN, WEBHOOK_TOKEN, CHECKSUM_SEED, ROUTING,
                     get_api_key, open_db, reset, send_report, upstream_token))
    '''
    assert ok(project.run(caller)).strip() == "sent"
    sent = json.dumps([request.body for request in llm.requests], ensure_ascii=False)
    for secret in (*corpus.NEVER_SENT_BEYOND_NAMES, "json-config-only-4410", "secrets-module-only-5521"):
        assert secret not in sent, secret
    prompt = prompt_of(llm.chat_requests()[0])
    assert "# file: shop/helpers.py" in prompt and 'BANNER = "[REDACTED secret]"' in prompt
    for kind in set(corpus.EXPECTED_BEYOND_NAMES.values()):
        assert f"[REDACTED {kind}]" in prompt, kind


FAILS_WITH_CREDENTIALS = '''

class _Server:
    def login(self, user: str, password: str) -> None:
        raise ConnectionRefusedError(f"{user} refused, password: {password}")


def rotate() -> None:
    _Server().login("billing@example.com", "%s")
''' % secrets_corpus.POSITIONAL_SMTP


def test_retry_feedback_that_quotes_the_projects_secrets_sends_none(project: Project, llm: FakeLLM) -> None:
    """The first candidate calls project code that fails with a message quoting a credential as
    prose; the retry feedback carries the message, redacted."""
    project.write("shop/__init__.py", "")
    project.write("shop/helpers.py", secrets_corpus.helpers_module() + FAILS_WITH_CREDENTIALS)
    failing = 'from shop.helpers import rotate\n\nrotate()\n\n\ndef ping() -> str:\n    """Ping."""\n    return "pong"\n'
    llm.openai.push(Code(failing), Code('def ping() -> str:\n    """Ping."""\n    return "pong"\n'))
    script = "from autogen.health import ping\nprint(ping())\n"
    assert ok(project.run(script, env={"AUTOGEN_HOOK_ALLOW": "import-time,shop.helpers"})).strip() == "pong"
    _, second = llm.chat_requests()
    feedback = second.body["messages"][-1]["content"]
    assert "ConnectionRefusedError" in feedback, feedback
    assert "password: [REDACTED secret]" in feedback
    sent = json.dumps([request.body for request in llm.requests], ensure_ascii=False)
    for secret in secrets_corpus.NEVER_SENT_BEYOND_NAMES:
        assert secret not in sent, secret


MAILER = 'def send(to: str) -> str:\n    """Send."""\n    return to\n'
HAND_EDITED = '''

SMTP_PASSWORD = "Hand-Edited-Smtp-9921"


def login_args() -> tuple[str, str]:
    """Who logs in."""
    return ("billing@example.com", SMTP_PASSWORD)
'''


def test_extending_a_hand_edited_module_sends_none_of_its_secrets_and_keeps_them(
    project: Project, llm: FakeLLM
) -> None:
    llm.openai.push(Code(MAILER))
    ok(project.run("from autogen.mailer import send\n"))
    [stored] = project.store.glob("**/mailer.py")
    stored.write_text(stored.read_text() + HAND_EDITED)
    existing = strip_header(stored.read_text())
    # the model extends what it was shown: the placeholder where the password was
    llm.openai.push(Code(redact(existing) + '\n\ndef retry(to: str) -> str:\n    """Again."""\n    return send(to)\n'))
    script = "from autogen.mailer import retry, login_args\nprint(login_args()[1], retry('x'))\n"
    assert ok(project.run(script)).strip() == "Hand-Edited-Smtp-9921 x"
    extension = llm.chat_requests()[1]
    assert "Hand-Edited-Smtp-9921" not in json.dumps(extension.body, ensure_ascii=False)
    assert 'SMTP_PASSWORD = "[REDACTED secret]"' in prompt_of(extension)
    assert 'SMTP_PASSWORD = "Hand-Edited-Smtp-9921"' in stored.read_text()  # the user's value is kept


def test_a_failing_context_stage_warns_and_the_import_still_works(project: Project, llm: FakeLLM) -> None:
    shop_project(project)
    llm.openai.push(Code(TOTAL_PRICE))
    script = (
        "import autogen_hook.context as context\n\n"
        "def explode(*args):\n    raise RuntimeError('index exploded')\n\n"
        "context.ranked_definitions = explode\n" + CHECKOUT
    )
    result = project.run(script)
    assert ok(result).strip() == "9.0"
    assert "context: building the repo map failed (RuntimeError: index exploded)" in result.stderr
    prompt = prompt_of(llm.chat_requests()[0])
    assert "total_price(order, tax=Decimal(\"0.5\"))" in prompt  # the caller's part survived
    assert "Relevant code from this project" not in prompt


# What another REPL does to the history file when it exits during this session: it appends its input.
ANOTHER_SESSION_EXITS = (
    "_ = open(__import__('os').path.expanduser('~/.python_history'), 'a').write('other_' + 'session = 1\\n')"
)


@pytest.mark.parametrize("meanwhile", [(), (ANOTHER_SESSION_EXITS,)], ids=["alone", "another-session-exits"])
def test_the_interactive_session_is_the_caller_source(
    project: Project, llm: FakeLLM, tmp_path: Path, meanwhile: tuple[str, ...]
) -> None:
    """A real ``python`` REPL on a pseudo-terminal, so readline keeps the history."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".python_history").write_text("previous_session_marker = 1\n")
    llm.openai.push(
        Code('def distance(a, b) -> float:\n    """Euclidean."""\n    return ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5\n')
    )
    lines = [
        "class Point:",
        "    def __init__(self, x: float, y: float) -> None:",
        "        self.x, self.y = x, y",
        "",
        "start = Point(0.0, 0.0)",
        *meanwhile,
        "from autogen.geometry import distance",
        "print('RESULT', distance(start, Point(3.0, 4.0)))",
        "exit()",
    ]
    if sys.version_info >= (3, 13):  # the new REPL indents blocks itself, as a user sees it
        lines = [line.lstrip() for line in lines]
    output = _interactive(project, {"HOME": str(home), "TERM": "xterm"}, lines)
    assert "RESULT 5.0" in output, output
    prompt = prompt_of(llm.chat_requests()[0])
    assert "Earlier input in this interactive session:" in prompt
    assert "    class Point:\n        def __init__(self, x: float, y: float) -> None:" in prompt
    assert "start = Point(0.0, 0.0)" in prompt
    assert "line 1):\n    from autogen.geometry import distance" in prompt  # <stdin>, <python-input-6>
    assert "previous_session_marker" not in prompt  # earlier sessions stay private
    assert "other_session" not in prompt  # nor do other sessions' lines


def test_ipython_cells_are_the_caller_source(project: Project, llm: FakeLLM) -> None:
    pytest.importorskip("IPython")
    llm.openai.push(
        Code('def distance(a, b) -> float:\n    """Euclidean."""\n    return ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5\n')
    )
    cells = [
        "class Point:\n    def __init__(self, x: float, y: float) -> None:\n        self.x, self.y = x, y\n",
        "from autogen.geometry import distance\nprint('RESULT', distance(Point(0, 0), Point(3, 4)))\n",
    ]
    script = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        f"for cell in {cells!r}:\n"
        "    shell.run_cell(cell, store_history=True).raise_error()\n"
    )
    assert "RESULT 5.0" in ok(project.run(script))
    prompt = prompt_of(llm.chat_requests()[0])
    assert "Earlier input in this interactive session:" in prompt
    assert "class Point:" in prompt  # from the earlier cell
    assert "distance(Point(0, 0), Point(3, 4))" in prompt


def _interactive(project: Project, env: dict[str, str], lines: list[str], timeout: float = 60) -> str:
    """Type ``lines`` into ``python`` on a pseudo-terminal; return everything it printed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: an interactive interpreter in the project
        os.chdir(project.root)
        os.execve(sys.executable, [sys.executable, "-q"], {**project.env, **env})
    output = b""
    deadline = time.monotonic() + timeout
    try:
        for line in lines:
            output += read_terminal(fd, 0.3)
            os.write(fd, line.encode() + b"\n")
        while time.monotonic() < deadline:
            chunk = read_terminal(fd, 0.5)
            if chunk is None:
                break
            output += chunk
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return output.decode(errors="replace")
