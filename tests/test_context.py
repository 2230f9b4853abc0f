"""The context engine in-process: caller analysis, redaction, index, ranking, budget, CLI."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
import types
from pathlib import Path

import pytest

import secrets_corpus
from fixture_code import MODELS
from autogen_hook._cli import main
from autogen_hook._request import CallerSite, Request
from autogen_hook._settings import Settings, resolve
from autogen_hook.context import Context, collect, estimate_tokens
from autogen_hook._state import STATE
from autogen_hook.context import _grammars
from autogen_hook.context._caller import analyse
from autogen_hook.context._files import secret_source, source_files
from autogen_hook.context._history import session_source
from autogen_hook.context._rank import personalised_pagerank
from autogen_hook.context._redact import SecretsNotKept, explain, redact, restore


APP = '''
"""Checkout for the shop."""
from decimal import Decimal

from shop.models import TAX_RATE, Order
from autogen.pricing import total_price


def checkout(order: Order) -> Decimal:
    total: Decimal = total_price(order, tax=TAX_RATE)
    return total
'''


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop-project"
    write(root, {
        "pyproject.toml": '[project]\nname = "shop"\nversion = "0"\n',
        "shop/__init__.py": "",
        "shop/models.py": MODELS,
        "shop/views.py": "from shop.models import Customer\n\ndef show(c: Customer) -> str:\n    return c.name\n",
        "app.py": APP,
    })
    return root


def request_for(root: Path, caller: str = "app.py", names: tuple[str, ...] = ("total_price",)) -> Request:
    source = (root / caller).read_text()
    site = CallerSite(str(root / caller), 5, "from autogen.pricing import total_price", source)
    return Request("autogen.pricing", names, caller=site)


def settings_for(root: Path, **overrides: object) -> Settings:
    return resolve(str(root), overrides)


def message(context: Context) -> str:
    from autogen_hook._prompt import build_messages

    from autogen_hook._validate import Grants

    return build_messages(context, "autogen", Grants())[-1].content


# --- caller analysis -------------------------------------------------------------------------


def test_caller_analysis_reads_scope_arguments_types_imports_and_docstring() -> None:
    caller = analyse(APP.lstrip("\n"), "autogen.pricing", ("total_price",))
    [use] = caller.uses
    assert (use.name, use.line, use.scope) == ("total_price", 9, "checkout")
    assert use.code == "total_price(order, tax=TAX_RATE)"
    assert use.types == (("order", "Order"), ("result", "Decimal"))  # TAX_RATE is imported
    assert caller.docstring == '"""Checkout for the shop."""'
    assert "from shop.models import TAX_RATE, Order" in caller.imports
    assert caller.statement == "from autogen.pricing import total_price"
    assert caller.focus == ("Order", "order", "TAX_RATE", "Decimal")


def test_the_docstring_is_found_after_a_shebang_a_coding_cookie_and_comments() -> None:
    source = (
        "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n# Copyright 2024 Example Corp.\n"
        '"""Nightly export of invoices."""\nfrom autogen.export import export_invoices\n'
    )
    caller = analyse(source, "autogen.export", ("export_invoices",))
    assert caller.docstring == '"""Nightly export of invoices."""'


def test_types_from_constructor_assignment_literal_and_module_alias() -> None:
    source = (
        "import autogen.geo as geo\n"
        "def f():\n"
        "    p = Point(1, 2)\n"
        "    return geo.distance(p, 3.5, 'km', cb=helper)\n"
    )
    [use] = analyse(source, "autogen.geo", ("distance",)).uses
    assert use.code == "geo.distance(p, 3.5, 'km', cb=helper)"
    assert use.types == (("p", "Point"), ("3.5", "float"), ("'km'", "str"))


@pytest.mark.parametrize(
    "statement, call",
    [
        ("from autogen import pricing", "pricing.total_price(order)"),
        ("from autogen import pricing as pr", "pr.total_price(order)"),
        ("import autogen.pricing as pr", "pr.total_price(order)"),
        ("import autogen.pricing", "autogen.pricing.total_price(order)"),
    ],
)
def test_a_use_through_the_module_is_found_however_it_is_imported(statement: str, call: str) -> None:
    source = f"{statement}\n\ndef checkout(order: Order) -> None:\n    {call}\n"
    caller = analyse(source, "autogen.pricing", ("total_price",))
    assert [(u.scope, u.code, u.types) for u in caller.uses] == [("checkout", call, (("order", "Order"),))]
    assert caller.statement == statement


def test_a_syntax_error_elsewhere_in_the_caller_does_not_hide_its_uses() -> None:
    source = (
        "from autogen.textutils import slugify\n"
        "def broken(:\n"
        "    return [1, 2\n"
        "class Title:\n"
        "    def make(self, text: str) -> str:\n"
        "        return slugify(text)\n"
    )
    caller = analyse(source, "autogen.textutils", ("slugify",))
    assert [(u.line, u.code) for u in caller.uses] == [(6, "slugify(text)")]


# --- the interactive session ------------------------------------------------------------------

SITE_READS_PYTHON_HISTORY = sys.version_info >= (3, 13)


def _session(
    monkeypatch: pytest.MonkeyPatch, home: Path, memory: list[str], files: dict[str, bytes]
) -> str | None:
    """This session's source as a REPL sees it: readline holding ``memory``, HOME holding ``files``."""
    for name, data in files.items():
        (home / name).write_bytes(data)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PYTHON_HISTORY", str(home / "elsewhere_history"))
    readline = types.SimpleNamespace(
        get_current_history_length=lambda: len(memory),
        get_history_item=lambda i: memory[i - 1] if 0 < i <= len(memory) else None,
    )
    monkeypatch.setitem(sys.modules, "readline", readline)
    monkeypatch.delitem(sys.modules, "_pyrepl.readline", raising=False)
    return session_source("<stdin>")


@pytest.mark.parametrize(
    "memory, history",
    [
        (["a = 1", "b = 2", "x = 3"], b"a = 1\nb = 2\n"),
        (["a = 1", "b = 2", "x = 3"], b"a = 1\nb = 2\nother_session = 1\nmore = 2\n"),  # grown since
        (["b = 2", "x = 3"], b"a = 1\nb = 2\n"),  # readline keeps fewer entries than the file holds
        (["print( 1)", "x = 3"], b"_HiStOrY_V2_\nprint(\\0401)\n"),  # libedit's file
        (["def f():\n    return 1", "x = 3"], b"def f():\r\n    return 1\n"),  # 3.13 REPL's file
    ],
    ids=["unchanged", "grown-by-another-session", "kept-fewer", "libedit", "multi-line-entries"],
)
def test_the_session_is_what_readline_holds_beyond_the_history_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, memory: list[str], history: bytes
) -> None:
    site_file = "elsewhere_history" if SITE_READS_PYTHON_HISTORY else ".python_history"
    assert _session(monkeypatch, tmp_path, memory, {site_file: history}) == "x = 3"


def test_the_history_file_is_the_one_site_reads_on_this_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """PYTHON_HISTORY is honoured from 3.13 on; before, site reads ~/.python_history whatever it says."""
    read, ignored = ("elsewhere_history", ".python_history")[:: 1 if SITE_READS_PYTHON_HISTORY else -1]
    files = {read: b"earlier = 1\n", ignored: b""}
    assert _session(monkeypatch, tmp_path, ["earlier = 1", "x = 3"], files) == "x = 3"


# --- redaction -------------------------------------------------------------------------------


@pytest.mark.parametrize("value, kind", sorted(secrets_corpus.EXPECTED.items()))
def test_every_secret_of_the_corpus_is_replaced_by_its_placeholder(value: str, kind: str) -> None:
    text = redact(secrets_corpus.python_module())
    assert value not in text
    assert f"[REDACTED {kind}]" in text


def test_redaction_keeps_the_code_shape_and_line_numbers() -> None:
    original = secrets_corpus.python_module()
    text = redact(original)
    assert text.count("\n") == original.count("\n")
    compile(text, "settings.py", "exec")  # placeholders sit inside the quotes
    assert 'DATABASE_URL = "postgres://shop:[REDACTED password]@db.internal:5432/shop"' in text


def test_ordinary_code_is_left_alone() -> None:
    assert redact(secrets_corpus.ORDINARY) == secrets_corpus.ORDINARY


@pytest.mark.parametrize(
    "name",
    ["DB_PASS", "SMTP_PW", "passwd", "pwd", "credentials", "private", "apiKey", "X-Auth-Token",
     "Authorization", "authToken", "DBPassword", "session_cookie", "client_secret"],
)
def test_names_that_look_like_secrets_have_their_values_redacted(name: str) -> None:
    assert redact(f'{name} = "v4lue-1"') == f'{name} = "[REDACTED secret]"'


@pytest.mark.parametrize("name", ["monkey", "keyboard", "tokenizer", "author", "compass", "bypass"])
def test_words_that_merely_contain_a_secret_word_are_not_secret_names(name: str) -> None:
    assert redact(f'{name} = "v4lue-1"') == f'{name} = "v4lue-1"'


S = "[REDACTED secret]"
TRICKY = (  # (code, as redacted): code around secret-looking names that is no secret, or only partly
    ('@override_settings(SECRET_KEY=b"x7")', f'@override_settings(SECRET_KEY=b"{S}")'),
    ("with self.settings(PASSWORD_RESET_TIMEOUT=60 * 60):", None),
    ('    """Return a `Cookie:` header\'s fields."""', None),
    ('def ask(prompt="Password: "):', None),
    ("try:\n    pass\nexcept KeyError:\n    raise Missing(\"no such command\")", None),
    ("    return '<%s token: \"%s\">' % (name, token)", None),
    ('# matches password="with spaces" (and more\nX = ("a", "b")', f'# matches password="{S}" (and more\nX = ("a", "b")'),
    ('key = key.split("__", 1)[0]', None),
    ('api_key = settings.get("API_KEY") or cfg["api_key"]', None),
    ('confirmed = data.pop("password2", None) != "false"', None),
    ('password = forms.CharField(label="Password", widget=Input(attrs={"a": "b"}))', None),
    ('auth = HTTPBasicAuth("admin", "hunter2")', f'auth = HTTPBasicAuth("admin", "{S}")'),  # a user is no secret
    ('password: str = Field(default="hunter2", title="Password")', f'password: str = Field(default="{S}", title="Password")'),
    ('TOKEN = "t0k3n" if production else "dev"', f'TOKEN = "{S}" if production else "dev"'),  # a word is none
    ('SECRET = "t0k3n" if production else "dev"', f'SECRET = "{S}" if production else "{S}"'),
)


@pytest.mark.parametrize("code, redacted", TRICKY)
def test_redaction_takes_the_value_and_nothing_else(code: str, redacted: str | None) -> None:
    assert redact(code) == (redacted or code)


def test_a_secret_name_in_prose_redacts_no_more_than_its_line() -> None:
    text = f'"""Checkout. Key: {secrets_corpus.STRIPE}"""\nTAX = "0.2"\n'
    assert redact(text) == '"""Checkout. Key: [REDACTED stripe-key]"""\nTAX = "0.2"\n'


@pytest.mark.parametrize("value, kind", sorted(secrets_corpus.EXPECTED_BEYOND_NAMES.items()))
def test_every_secret_beyond_names_is_replaced_by_its_placeholder(value: str, kind: str) -> None:
    """Comments, docstrings, innocuous names, templates, credential arguments, returns, Basic."""
    text = redact(secrets_corpus.helpers_module())
    assert value not in text
    assert f"[REDACTED {kind}]" in text


def test_the_corpus_beyond_names_keeps_its_shape_and_the_code_around_its_secrets() -> None:
    original = secrets_corpus.helpers_module()
    text = redact(original)
    assert text.count("\n") == original.count("\n")
    compile(text, "helpers.py", "exec")
    assert 'WEBHOOK_TOKEN = f"{PREFIX}[REDACTED secret]"' in text  # the field stays, the part goes
    assert 'smtp.login("billing@example.com", "[REDACTED secret]")' in text  # the user stays
    assert 'connect("db.internal", "[REDACTED secret]", "[REDACTED secret]")' in text
    assert "    host: mail.internal\n    password: [REDACTED secret]\n" in text
    assert '"X-Upstream": "Basic [REDACTED token]"' in text


def test_explain_names_the_line_and_the_rule_and_never_the_secret() -> None:
    text = 'import os\n\n# the key is Xy7-Secret-Value-91\nsmtp.login("me", BANNER)\nBANNER = "hunter2-Z9q"\n'
    explained = explain(text)
    assert explained == [
        (3, "secret", "value after 'key' in prose"),
        (5, "secret", "value of BANNER, passed as a credential"),
    ]
    assert not any("Xy7" in rule or "hunter2" in rule for _, _, rule in explained)


ORDINARY_WITH_SECRET_WORDS = """\
SESSION_KEY = "_auth_user_id"
CSRF_SESSION_KEY = "_csrftoken"
key_salt = "django.contrib.sessions.backends.signed_cookies"
cache_key = "views.decorators.cache.cache_page.%s.%s"
REASON_NO_CSRF_COOKIE = "CSRF cookie not set."
SECRET_KEY_WARNING_MSG = "Your SECRET_KEY has less than 50 characters."
set_password = 'ALTER USER %(user)s IDENTIFIED BY "%(password)s"'
token = "is not"
RANDOM_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DATUM = "North_American_Datum_1983"
NAMESPACE = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
# The key is the primary key; the password is hashed with key_salt + secret.
post_save.connect(handler, sender=Order, dispatch_uid="order_saved")
db = sqlite3.connect("db.sqlite3")


def user_change_password(self):
    return "admin/auth/user/change_password.html"


def _check_primary_key(self):
    return "AutoFields must set primary_key=True."


class Header:
    \"\"\"Basic authentication: the password is sent with each request.

    key: the cache key (a str)
    \"\"\"
"""


def test_code_that_only_names_secrets_keeps_its_literals() -> None:
    """Shapes met in Django's own code: names of keys, salts, templates, messages, alphabets."""
    assert redact(ORDINARY_WITH_SECRET_WORDS) == ORDINARY_WITH_SECRET_WORDS


def test_restore_puts_a_stored_modules_secrets_back_in_a_reformatted_reply() -> None:
    original = (
        "SMTP_PASSWORD = 'Hand-Edited-Smtp-9921'\n"
        f'SIGNING_KEY = """{secrets_corpus.PEM}"""\n\n'
        'def send() -> None:\n    login("billing@example.com", "PositionalSmtpPass-3131")\n'
    )
    reply = redact(original).replace("'", '"') + "\n\ndef retry() -> None:\n    send()\n"
    assert "Hand-Edited" not in reply and "PositionalSmtpPass" not in reply
    restored = restore(reply, original)
    assert restored.startswith(original.replace("'", '"'))
    assert restored.endswith("def retry() -> None:\n    send()\n")


def test_restore_escapes_a_secret_for_the_quote_mark_black_chose() -> None:
    original = "password = 'say \"hi\" 42'\n"
    reply = 'password = "[REDACTED secret]"\n'
    assert restore(reply, original) == 'password = "say \\"hi\\" 42"\n'


def test_restore_refuses_a_reply_that_dropped_a_line_holding_a_secret() -> None:
    original = "SMTP_PASSWORD = 'Hand-Edited-Smtp-9921'\nUSER = 'billing'\n"
    with pytest.raises(SecretsNotKept) as raised:
        restore("USER = 'billing'\n", original)
    assert "SMTP_PASSWORD = '[REDACTED secret]'" in str(raised.value)
    assert "Hand-Edited" not in str(raised.value)


@pytest.mark.parametrize(
    "path, text, secret",
    [
        (".env.local", "X=1\n", True),
        ("deploy/id_ed25519", "", True),
        ("certs/server.key", "", True),
        ("app/secrets.py", "X = 1\n", True),
        ("aws_credentials.ini", "", True),
        ("config.json", '{"debug": true, "db": {"password": "x"}}', True),
        ("settings.yaml", "debug: true\nclient_secret: abc\n", True),
        ("tool.toml", "[tool]\napi_key = 'x'\n", True),
        ("app.ini", "[app]\ndebug = true\nname = shop\n", False),
        ("config.json", '{"debug": true, "session_key_prefix": "s"}', False),
        ("id_utils.py", "X = 1\n", False),
        ("keys/id_github", "", True),  # an SSH key of any name
        ("keys/id_deploy.pub", "", True),
        ("settings.py", "PASSWORD = 'x'\n", False),  # code: read, and redacted
    ],
)
def test_files_that_hold_secrets_by_convention_are_never_read(path: str, text: str, secret: bool) -> None:
    assert secret_source(path, text) is secret


def test_a_secret_file_as_the_caller_sends_only_its_statement(shop: Path) -> None:
    write(shop, {"shop/secrets.py": f'TOKEN_NOTE = "{secrets_corpus.COMMENT_TOKEN}"\n' + APP})
    context = collect(request_for(shop, "shop/secrets.py"), settings_for(shop))
    text = message(context)
    assert secrets_corpus.COMMENT_TOKEN not in text and "TOKEN_NOTE" not in text
    assert "from autogen.pricing import total_price" in text
    assert context.uses == ()


# --- repo map: ranking, budget, files --------------------------------------------------------


def test_types_at_the_call_site_come_first_with_their_file(shop: Path) -> None:
    context = collect(request_for(shop), settings_for(shop))
    names = [s.name for s in context.snippets]
    assert names[:2] == ["Order", "TAX_RATE"]
    assert context.files[0] == "shop/models.py"
    text = message(context)
    assert "# file: shop/models.py" in text
    assert "    items: list[LineItem]" in text
    assert '    def add(self, item: LineItem) -> None:\n        """Append an item to the order."""' in text
    assert "known types: order: Order, result: Decimal" in text


def test_imported_module_definitions_the_caller_uses_are_ranked(shop: Path) -> None:
    write(shop, {
        "shop/util.py": "def money(x: float) -> str:\n    return f'{x:.2f}'\n\ndef unused() -> None:\n    pass\n",
        "report.py": (
            "from shop import util\nfrom autogen.pricing import total_price\n\n"
            "def run() -> None:\n    print(util.money(total_price(3)))\n"
        ),
    })
    context = collect(request_for(shop, "report.py"), settings_for(shop))
    names = [s.name for s in context.snippets]
    assert "money" in names and "unused" not in names


def test_pagerank_flows_from_the_seed_along_references() -> None:
    graph = {"a": {"b": 1.0}, "b": {"c": 1.0}, "c": {}, "d": {"a": 1.0}}
    ranks = personalised_pagerank({"a": 1.0}, lambda node: graph[node])
    assert ranks["a"] > ranks["b"] > 0 and "d" not in ranks
    assert abs(sum(ranks.values()) - 1.0) < 0.01


def test_budget_is_respected_by_dropping_entries_from_the_end(shop: Path) -> None:
    full = collect(request_for(shop), settings_for(shop))
    assert len(full.snippets) >= 3
    budget = full.tokens - estimate_tokens(full.snippets[-1].text)
    smaller = collect(request_for(shop), settings_for(shop, context_budget=budget))
    assert smaller.tokens <= budget
    assert smaller.snippets == full.snippets[: len(smaller.snippets)]
    assert len(smaller.snippets) < len(full.snippets)
    tiny = collect(request_for(shop), settings_for(shop, context_budget=20))
    assert tiny.tokens <= 20 and tiny.snippets == ()


def test_git_ignored_hidden_venv_store_secret_and_large_files_are_never_indexed(shop: Path) -> None:
    write(shop, {
        ".gitignore": "generated/\n*.local.py\n",
        "generated/big.py": "X = 1\n",
        "conf.local.py": "Y = 2\n",
        ".venv/lib/site.py": "Z = 3\n",
        "env/pyvenv.cfg": "home = /usr\n",
        "env/lib/thing.py": "W = 4\n",
        ".autogen/pricing.py": "V = 5\n",
        ".env.production.py": "U = 6\n",
        "huge.py": "A = 1\n" * 100_000,
        ".github/scripts/bot.py": "class ReleaseBot:\n    channel: str\n",
        ".private/notes.py": "class Scratch:\n    pass\n",
    })
    expected = {"app.py", "shop/__init__.py", "shop/models.py", "shop/views.py"}
    listed = {f.path for f in source_files(str(shop), frozenset({".py"}), (str(shop / ".autogen"),))[0]}
    assert listed == expected
    subprocess.run(["git", "init", "-q"], cwd=shop, check=True)
    listed = {f.path for f in source_files(str(shop), frozenset({".py"}), (str(shop / ".autogen"),))[0]}
    assert listed == expected


# --- the index cache ---------------------------------------------------------------------------


def test_an_edit_is_seen_and_only_the_changed_file_is_parsed_again(shop: Path) -> None:
    settings = settings_for(shop)
    first = collect(request_for(shop), settings)
    assert first.index is not None and first.index.parsed == first.index.files == 4
    again = collect(request_for(shop), settings)
    assert again.index is not None and again.index.parsed == 0
    models = shop / "shop" / "models.py"
    models.write_text(models.read_text().replace("    currency: str = \"EUR\"\n", "    paid: bool = False\n"))
    edited = collect(request_for(shop), settings)
    assert edited.index is not None and edited.index.parsed == 1
    assert "paid: bool = False" in message(edited) and "currency" not in message(edited)


PYTHON_FILES = {"app.py", "shop/__init__.py", "shop/models.py", "shop/views.py"}  # of the shop


def _indexed(root: Path, settings: Settings) -> set[str]:
    """The paths the index holds after a request from app.py."""
    collect(request_for(root), settings)
    database = root / ".autogen" / ".index" / "tags.sqlite3"
    with sqlite3.connect(database) as db:
        return {row[0] for row in db.execute("SELECT path FROM files")}


@pytest.mark.parametrize("git", [False, True], ids=["walked", "git"])
def test_a_reused_listing_sees_every_file_added_removed_renamed_or_newly_ignored(
    shop: Path, git: bool
) -> None:
    write(shop, {
        "lib/core/base.py": "class Base:\n    pass\n",  # lib/ holds a directory only
        "data/cache.bin": "ignored\n",  # data/ holds an ignored file only
        ".gitignore": "*.bin\n",
    })
    if git:
        subprocess.run(["git", "init", "-q", str(shop)], check=True)
        subprocess.run(["git", "add", "-A"], cwd=shop, check=True)
    settings = settings_for(shop)
    indexed = _indexed(shop, settings)
    for path in (
        "shop/coupons.py",  # in a listed directory
        "billing/invoices/models.py",  # in a new directory of the root
        "lib/extra/tools.py",  # in a new directory of a directory that holds no file
        "data/new/loader.py",  # in a new directory of a directory that holds an ignored file only
    ):
        write(shop, {path: "class Coupon:\n    code: str\n"})
        indexed.add(path)
        assert _indexed(shop, settings) == indexed, path
    (shop / "shop" / "coupons.py").unlink()
    indexed.remove("shop/coupons.py")
    assert _indexed(shop, settings) == indexed
    (shop / "billing").rename(shop / "invoicing")
    indexed = indexed - {"billing/invoices/models.py"} | {"invoicing/invoices/models.py"}
    assert _indexed(shop, settings) == indexed
    (shop / ".gitignore").write_text("*.bin\ndata/new/\n")  # (git lists a tracked file even if ignored)
    assert _indexed(shop, settings) == indexed - {"data/new/loader.py"}  # an edited ignore rule


def test_the_index_stores_no_token_of_a_key_format(shop: Path) -> None:
    write(shop, {"shop/settings.py": secrets_corpus.python_module()})
    _indexed(shop, settings_for(shop))
    with sqlite3.connect(shop / ".autogen" / ".index" / "tags.sqlite3") as db:
        [(refs,)] = db.execute("SELECT refs FROM files WHERE path = 'shop/settings.py'")
    stored = set(json.loads(refs))
    keys = [value for value, kind in secrets_corpus.EXPECTED.items() if kind != "secret"]
    leaked = {t for key in keys for t in re.findall(r"[A-Za-z_][A-Za-z0-9_]{5,}", key)} & stored
    assert leaked == set()
    assert {"environ", "getenv", "login", "DRIVER"} <= stored  # the rest of the file is there


def test_a_named_pipe_is_not_read(shop: Path) -> None:
    os.mkfifo(shop / "stuck.py")
    done: list[set[str]] = []
    worker = threading.Thread(target=lambda: done.append(_indexed(shop, settings_for(shop))), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert done == [PYTHON_FILES]


@pytest.mark.parametrize("git", [False, True], ids=["walked", "git"])
def test_a_caller_that_is_ignored_still_brings_its_own_definitions(shop: Path, git: bool) -> None:
    write(shop, {
        ".gitignore": "scratch/\n",
        "scratch/try_pricing.py": (
            "from autogen.pricing import total_price\n\n"
            "class Basket:\n    unit_price: float\n    quantity: int\n\n"
            "print(total_price(Basket()))\n"
        ),
    })
    if git:
        subprocess.run(["git", "init", "-q", str(shop)], check=True)
    context = collect(request_for(shop, "scratch/try_pricing.py"), settings_for(shop))
    assert context.files[:1] == ("scratch/try_pricing.py",)
    assert "    unit_price: float" in message(context)
    assert "scratch/try_pricing.py" not in _indexed(shop, settings_for(shop))  # only while it calls


def _damage(database: Path, damage: str) -> None:
    """Damage the index file: random bytes, cut short, a schema that is not UTF-8, rows that are
    not JSON."""
    data = database.read_bytes()
    if damage in ("garbage", "truncated"):
        database.write_bytes(os.urandom(4096) if damage == "garbage" else data[: len(data) // 3])
        return
    with sqlite3.connect(database) as db:
        if damage == "garbled-schema":
            db.execute("PRAGMA writable_schema = ON")
            garbled = "CAST(X'435245415445205441424c452066696c657320dd' AS TEXT)"  # invalid UTF-8
            db.execute(f"UPDATE sqlite_master SET sql = {garbled} WHERE name = 'files'")
        else:
            db.execute("UPDATE files SET refs = '{not json'")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "garbled-schema", "garbled-rows"])
def test_a_corrupt_index_is_rebuilt_with_a_warning(
    shop: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(shop)
    expected = collect(request_for(shop), settings).snippets
    database = shop / ".autogen" / ".index" / "tags.sqlite3"
    STATE.close()  # as a new process would find it: no index open
    _damage(database, damage)
    with caplog.at_level(logging.WARNING, logger="autogen_hook"):
        rebuilt = collect(request_for(shop), settings)
    assert rebuilt.snippets == expected
    assert rebuilt.index is not None and rebuilt.index.parsed == 4
    assert "is unusable" in caplog.text and "rebuilding it" in caplog.text
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone()[0] == 4


def test_a_store_that_cannot_be_written_still_gets_a_context(shop: Path) -> None:
    blocker = shop / "blocked"
    blocker.write_text("a file where the store directory should be")
    context = collect(request_for(shop), settings_for(shop, cache_dir=str(blocker)))
    assert context.snippets and context.snippets[0].name == "Order"


def test_a_failing_stage_becomes_a_warning_and_the_rest_is_kept(
    shop: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import autogen_hook.context as context_package

    def explode(*args: object) -> None:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(context_package, "ranked_definitions", explode)
    with caplog.at_level(logging.WARNING, logger="autogen_hook"):
        context = collect(request_for(shop), settings_for(shop))
    assert context.snippets == () and context.uses  # the caller's part survived
    assert "building the repo map failed (RuntimeError: index exploded)" in caplog.text


# --- grammars --------------------------------------------------------------------------------

OTHER_LANGUAGES = {
    "web/cart.js": "export class Cart extends Base {\n  add(item) { return item }\n}\nfunction helper(x) { return x }\n",
    "web/types.ts": "export interface Money {\n  amount: number;\n  currency: string;\n}\n",
    "svc/order.go": "package svc\n\ntype Invoice struct {\n\tID int\n}\n\nfunc Total(i Invoice) int { return i.ID }\n",
    "core/src/lib.rs": "pub struct Ledger {\n    id: u32,\n}\n\npub fn balance(l: &Ledger) -> u32 { l.id }\n",
}


@pytest.fixture
def fresh_grammars() -> None:
    """Nothing known yet about the installed grammars (and reset() after the test forgets it)."""
    STATE.reset()


def test_other_languages_are_indexed_when_their_grammars_are_installed(shop: Path, fresh_grammars: None) -> None:
    for module in ("tree_sitter_javascript", "tree_sitter_typescript", "tree_sitter_go", "tree_sitter_rust"):
        pytest.importorskip(module)
    write(shop, OTHER_LANGUAGES)
    uses = "def f(c: Cart, m: Money, i: Invoice, l: Ledger) -> None:\n    total_price(c, m, i, l, Total, balance)\n"
    write(shop, {"app.py": "from autogen.pricing import total_price\n" + uses})
    context = collect(request_for(shop), settings_for(shop))
    text = message(context)
    for expected in ("# file: web/cart.js", "export class Cart extends Base", "export interface Money",
                     "type Invoice struct", "func Total(i Invoice) int", "pub struct Ledger", "pub fn balance"):
        assert expected in text


def _python_grammar_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the optional grammar wheels look not installed."""
    real_find_spec = importlib.util.find_spec

    def without_optional(name: str, package: str | None = None) -> object:
        if name.startswith("tree_sitter_") and name != "tree_sitter_python":
            return None  # what find_spec says of a module that is not installed
        return real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_optional)


def test_missing_grammars_are_skipped_silently(
    shop: Path, fresh_grammars: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _python_grammar_only(monkeypatch)
    write(shop, OTHER_LANGUAGES)
    with caplog.at_level(logging.DEBUG, logger="autogen_hook"):
        context = collect(request_for(shop), settings_for(shop))
    assert {g.name for g in _grammars.grammars().values()} == {"python"}
    assert context.index is not None and context.index.files == 4  # the Python files only
    assert context.snippets and caplog.text == ""


def test_grammars_installed_after_the_first_index_bring_their_files_in(
    shop: Path, fresh_grammars: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(shop, OTHER_LANGUAGES)
    with monkeypatch.context() as without:
        _python_grammar_only(without)
        assert _indexed(shop, settings_for(shop)) == PYTHON_FILES
    STATE.reset()  # a new process: the grammars extra is installed now; no directory moved
    assert _indexed(shop, settings_for(shop)) >= set(OTHER_LANGUAGES)


# --- the command -----------------------------------------------------------------------------


def test_context_command_prints_the_message_tokens_files_and_redactions(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(shop, {"app.py": APP.replace('"""Checkout for the shop."""', f'"""Checkout. Key: {secrets_corpus.STRIPE}"""')})
    monkeypatch.chdir(shop)
    assert main(["context", "autogen.pricing", "--names", "total_price", "--file", "app.py"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Write the module `autogen.pricing`.")
    assert "The importing statement (app.py, line 5):\n    from autogen.pricing import total_price" in out
    assert "[REDACTED stripe-key]" in out and secrets_corpus.STRIPE not in out
    assert "# file: shop/models.py" in out
    assert "files: shop/models.py" in out and "redactions: 1" in out
    assert "tokens (estimate: characters / 4) of a budget of 4000" in out


def test_show_redactions_lists_where_and_why_never_what(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(shop, {
        "shop/helpers.py": secrets_corpus.helpers_module(),
        "app.py": APP.replace("from shop.models import TAX_RATE, Order",
                              "from shop.models import TAX_RATE, Order\nfrom shop.helpers import BANNER, get_api_key")
                     .replace("def checkout(order: Order) -> Decimal:",
                              f"# password: {secrets_corpus.COMMENT_PASSWORD}\ndef checkout(order: Order) -> Decimal:")
                     .replace("total_price(order", "total_price(BANNER, get_api_key(), order"),
        "settings.json": '{"api_key": "never-read-9921"}',
    })
    monkeypatch.chdir(shop)
    assert main(["context", "autogen.pricing", "--names", "total_price", "--file", "app.py", "--show-redactions"]) == 0
    out = capsys.readouterr().out
    comment = (shop / "app.py").read_text().split("\n").index(f"# password: {secrets_corpus.COMMENT_PASSWORD}") + 1
    assert f"  app.py:{comment}  secret  value after 'password' in prose" in out
    banner = secrets_corpus.helpers_module().split("\n").index(f'BANNER = "{secrets_corpus.BANNER}"') + 1
    assert f"  shop/helpers.py:{banner}  secret  value of BANNER, passed as a credential" in out
    assert "returned by get_api_key()" in out
    for secret in (*secrets_corpus.NEVER_SENT_BEYOND_NAMES, "never-read-9921"):
        assert secret not in out
    assert main(["context", "autogen.pricing", "--names", "total_price", "--file", "settings.json",
                 "--show-redactions"]) == 0
    out = capsys.readouterr().out
    assert "settings.json  not read: its name or its keys say it holds secrets" in out
    assert "never-read-9921" not in out


def test_context_command_reads_a_file_in_the_encoding_its_coding_cookie_names(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "# -*- coding: latin-1 -*-\nfrom autogen.w import weird\nweird('\u00e9t\u00e9')\n"
    (shop / "latin1.py").write_bytes(source.encode("latin-1"))
    monkeypatch.chdir(shop)
    assert main(["context", "autogen.w", "--names", "weird", "--file", "latin1.py"]) == 0
    assert "line 3:\n    weird('\u00e9t\u00e9')" in capsys.readouterr().out


def test_context_command_without_a_file_synthesises_the_statement(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(shop)
    assert main(["context", "autogen.pricing", "--names", "total_price,Money", "--budget", "100"]) == 0
    out = capsys.readouterr().out
    assert "from autogen.pricing import total_price, Money" in out
    assert "of a budget of 100" in out


@pytest.mark.parametrize(
    "argv, complaint",
    [
        (["context", "pricing", "--names", "f"], "module: expected a dotted name inside the namespace 'autogen'"),
        (["context", "autogen.class", "--names", "f"], "module: cannot generate 'autogen.class'"),  # as generate()
        (["context", "autogen._x", "--names", "f"], "module: cannot generate 'autogen._x'"),
        (["context", "autogen.x", "--names", ","], "--names: expected public Python names"),
        (["context", "autogen.x", "--names", "_private"], "--names: cannot generate autogen.x._private"),
        (["context", "autogen.x", "--names", "class"], "--names: cannot generate 'class' in autogen.x"),
        (["context", "autogen.x", "--names", "f", "--file", "missing.py"], "--file: cannot read"),
        (["context", "autogen.x", "--names", "f", "--budget", "-1"], "--budget: expected a whole number >= 0"),
        (["context", "autogen.x", "--names", "f", "--file", "bad.py"], "--file: cannot read bad.py"),
    ],
)
def test_context_command_rejects_bad_arguments_with_exit_2(
    shop: Path, argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(shop)
    (shop / "bad.py").write_bytes(b"weird('\xe9t\xe9')\n")  # not UTF-8, and no coding cookie
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert complaint in capsys.readouterr().err


def test_a_burst_of_requests_shares_one_refresh_yet_sees_every_earlier_edit(tmp_path: Path) -> None:
    import time

    from autogen_hook.context._index import Index, connect

    (tmp_path / "a.py").write_text("def a() -> int:\n    return 1\n")
    index = Index(connect(str(tmp_path / "tags.sqlite3")), str(tmp_path))
    asked = time.monotonic()
    first = index.refresh(excluded=(), asked_at=asked)
    (tmp_path / "b.py").write_text("def b() -> int:\n    return 2\n")  # after the burst was asked
    assert index.refresh(excluded=(), asked_at=asked) is first  # served by the refresh it waited for
    assert "b" not in index.definers
    index.refresh(excluded=(), asked_at=time.monotonic())  # asked after the edit: sees it
    assert "b" in index.definers
    index.db.close()


def test_a_value_a_call_returned_is_not_labelled_as_a_type(shop: Path) -> None:
    write(shop, {"report.py": (
        "from autogen.pricing import total_price, format_money\nfrom shop.models import Order\n\n"
        "def report(order: Order) -> str:\n    total = total_price(order)\n    copy = Order()\n"
        "    return format_money(total, copy, total_price(order))\n"
    )})
    caller = analyse((shop / "report.py").read_text(), "autogen.pricing", ("total_price", "format_money"))
    fmt = next(u for u in caller.uses if u.name == "format_money")
    assert fmt.types == (("copy", "Order"),)  # a constructor's result is of its class
    assert fmt.results == (("total", "total_price"),)  # a function's result is no type
    assert "total_price" in caller.focus  # its definition still matters
    text = message(collect(request_for(shop, "report.py", ("total_price", "format_money")), settings_for(shop)))
    assert "    known types: copy: Order\n    results of calls: total = total_price(...)" in text
    assert "total: total_price" not in text
