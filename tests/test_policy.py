"""The capability policy on its own: evasions it must see through, idioms it must accept."""

from __future__ import annotations

import ast
import textwrap

import pytest

from autogen_hook._validate import Grants, Problem
from autogen_hook._validate._capabilities import CAPABILITIES
from autogen_hook._validate._policy import check_policy


def grants(*allow: str) -> Grants:
    return Grants(frozenset(a for a in allow if a in CAPABILITIES), frozenset(a for a in allow if a not in CAPABILITIES))


def refusal(code: str, *allow: str) -> str:
    """The policy's message for ``code`` (which must be refused)."""
    source = textwrap.dedent(code)
    with pytest.raises(Problem) as info:
        check_policy(ast.parse(source), grants(*allow), source)
    return str(info.value)


def accepted(code: str, *allow: str) -> None:
    source = textwrap.dedent(code)
    check_policy(ast.parse(source), grants(*allow), source)


# (code, the capability the refusal must name); every one is refused by the default policy
EVASIONS = [
    ("import os\n_run = os.system\ndef f():\n    return _run('id')\n", "process"),
    ("import os as o\ndef f():\n    return o.system('id')\n", "process"),
    ("from os import system as s\ndef f():\n    s('id')\n", "process"),
    ("import os\ndef f():\n    return getattr(os, 'system')('id')\n", "process"),
    ("import os\ndef f(n):\n    return getattr(os, n)('id')\n", "dynamic"),
    ("def f(x):\n    return '{0.__class__.__init__.__globals__}'.format(x)\n", "dynamic"),
    ("import sys\ndef f():\n    sys.argv.clear()\n", "interpreter"),
    ("import mimetypes\ndef f():\n    mimetypes.add_type('text/x-evil', '.py')\n", "interpreter"),
    ("T = '{x.f[0].__globals__}'\ndef f(x):\n    return T.format_map({'x': x})\n", "dynamic"),
    ("import logging\ndef f():\n    logging.os.system('id')\n", "process"),
    ("import posix\ndef f():\n    posix.system('id')\n", "process"),
    ("from os import *\ndef f():\n    system('id')\n", "dynamic"),
    ("import asyncio\nasync def f():\n    await asyncio.create_subprocess_shell('id')\n", "process"),
    ("import builtins\ndef f():\n    return builtins.__import__('subpro' + 'cess')\n", "dynamic"),
    ("import builtins, codecs\ndef f():\n    return vars(builtins)[codecs.decode('riny', 'rot13')]\n", "dynamic"),
    ("import timeit\ndef f(src):\n    timeit.timeit(src)\n", "dynamic"),
    ("import code\ndef f(src):\n    code.InteractiveInterpreter().runsource(src)\n", "dynamic"),
    ("import io, pickle\ndef f(b):\n    return pickle.Unpickler(io.BytesIO(b)).load()\n", "dynamic"),
    ("import pickle\ndef f(b):\n    return pickle._loads(b)\n", "dynamic"),
    ("import _pickle\ndef f(b):\n    return _pickle.loads(b)\n", "dynamic"),
    ("import operator, os\ndef f():\n    return operator.attrgetter('system')(os)('id')\n", "dynamic"),
    ("import operator\ndef f(o, n):\n    return operator.attrgetter(n)(o)\n", "dynamic"),
    ("import os\nK = type('K', (), {'run': staticmethod(os.system)})\n", "process"),
    ("import functools, os\ndef f(c):\n    return functools.partial(os.system, c)()\n", "process"),
    ("def f(src, run=exec):\n    run(src)\n", "dynamic"),
    ("g = lambda f=eval: f('1')\n", "dynamic"),
    ("def f():\n    return (1).__class__.__base__.__subclasses__()\n", "dynamic"),
    ("def f(g):\n    return g.__globals__['__builtins__']\n", "dynamic"),
    ("import sys\ndef f():\n    return sys._getframe(1).f_globals\n", "dynamic"),
    ("import inspect\ndef f():\n    return inspect.currentframe().f_back\n", "dynamic"),
    ("def f():\n    try:\n        1 / 0\n    except Exception as e:\n        return e.__traceback__.tb_frame\n", "dynamic"),
    ("import typing\ndef f(g):\n    return typing.get_type_hints(g)\n", "dynamic"),
    ("from typing import Optional\nX = Optional[\"__import__('os').system('id')\"]\n", "dynamic"),
    ("import typing\ndef f(x):\n    return typing.cast(\"__import__('os')\", x)\n", "dynamic"),
    ("import string\ndef f(o):\n    return string.Formatter().get_field('0.x', [o], {})\n", "dynamic"),
    ("def f():\n    return globals()['__builtins__']\n", "dynamic"),
    ("def f():\n    return __builtins__\n", "dynamic"),
    ("def f():\n    breakpoint()\n", "dynamic"),
    ("import importlib\ndef f():\n    return importlib.import_module('os')\n", "dynamic"),
    ("def f():\n    return __import__('os')\n", "dynamic"),
    ("def f(o):\n    return setattr(o, '__class__' if o else 'x', 1)\n", "dynamic"),
    ("import sys\ndef f():\n    return type(sys.stdout.buffer.raw)('/etc/passwd')\n", "dynamic"),
    ("import sys\ndef f():\n    sys.stdin.buffer.raw.__init__('/etc/passwd')\n", "dynamic"),
    ("import ctypes\n", "native"),
    ("import sys\ndef f():\n    T = type(sys.stdin.buffer.raw)\n    return T('/etc/passwd')\n", "filesystem"),
    ("import typing\nP = typing.NamedTuple('P', [('x', \"__import__('os').system('id')\")])\n", "dynamic"),
    ("def f(p):\n    with p.open() as fh:\n        return fh.read()\n", "filesystem"),
    ("import enum, os\nclass E(enum.Enum):\n    A = 1\n    @classmethod\n    def _missing_(cls, v):\n        os.system('id')\n", "process"),
    ("import codecs\ndef f(p):\n    return codecs.open(p).read()\n", "filesystem"),
    ("import tokenize\ndef f(p):\n    return tokenize.open(p).read()\n", "filesystem"),
    ("import logging\ndef f():\n    logging.getLogger().addHandler(logging.FileHandler('/tmp/x'))\n", "filesystem"),
    ("import xml.etree.ElementTree as ET\ndef f(p):\n    return ET.parse(p)\n", "filesystem"),
    ("import asyncio\nasync def f():\n    loop = asyncio.get_running_loop()\n    await loop.subprocess_exec(lambda: None, 'id')\n", "process"),
    ("import concurrent.futures as cf\ndef f():\n    return cf.ProcessPoolExecutor()\n", "process"),
    ("import functools\ndef f(o):\n    return functools.reduce(getattr, ['a'], o)\n", "dynamic"),
    ("import os\ndef f():\n    a = (os, 'system')\n    return getattr(*a)\n", "dynamic"),
    ("def f():\n    return super(type, type).__subclasses__\n", "dynamic"),
    ("import configparser\nclass R(configparser.ConfigParser):\n    pass\ndef f(p):\n    return R().read(p)\n", "filesystem"),
    ("import configparser\nclass R(configparser.ConfigParser):\n    def load(self, p):\n        return super().read(p)\n", "filesystem"),
    ("def f():\n    return type.__dict__['__subclasses__'](object)\n", "dynamic"),
    ("def f():\n    return vars(type)['__subclasses__'](object)\n", "dynamic"),
    ("import operator\ndef f():\n    return operator.attrgetter('__dict__')(type)\n", "dynamic"),
    ("import json\ndef f():\n    try:\n        json.nope\n    except AttributeError as e:\n        return e.obj.__dict__\n", "dynamic"),
    ("import os\ndef f():\n    try:\n        os.nope.deeper\n    except AttributeError as e:\n        return e.obj\n", "dynamic"),
    ("import json\ndef f():\n    return json.__dict__['__builtins__']['eval']\n", "dynamic"),
    ("import json\nJ = json\ndef f():\n    return [J][0].__dict__\n", "dynamic"),
    ("import dataclasses\ndef f(s):\n    return dataclasses.builtins.eval(s)\n", "dynamic"),
    ("import typing\ndef f():\n    return typing.sys.modules\n", "interpreter"),
    ("import json\ndef f(x: \"__import__('os').system('id')\") -> None:\n    pass\n", "dynamic"),
    ("def f(o):\n    return type.__setattr__(o, 'default', None)\n", "dynamic"),
    ("import os\ndef f():\n    return os.__getattribute__('system')\n", "dynamic"),
    ("import sqlite3\ndef f(c):\n    c.load_extension('/tmp/x.so')\n", "native"),
    ("import platform\ndef f():\n    return platform.uname().processor\n", "process"),
    ("import os\ndef f():\n    match os:\n        case _:\n            pass\n", "dynamic"),
    ("def f(p):\n    with open(p, 'w') as fh:\n        fh.write('x')\n", "filesystem"),
    ("import os\ndef f(p):\n    os.remove(p)\n", "filesystem"),
    ("import pathlib\ndef f():\n    return (pathlib.Path.home() / '.ssh' / 'id_rsa').read_text()\n", "filesystem"),
    ("def f(p):\n    return p.read_text()\n", "filesystem"),
    ("import os.path\ndef f():\n    return os.path.expanduser('~/.ssh')\n", "environment"),
    ("import os\ndef f():\n    return dict(os.environ)\n", "environment"),
    ("import os\ndef f():\n    return os.getenv('AWS_SECRET_ACCESS_KEY')\n", "environment"),
    ("import socket\ndef f():\n    return socket.create_connection(('127.0.0.1', 9))\n", "network"),
    ("import urllib.request\ndef f(u):\n    return urllib.request.urlopen(u).read()\n", "network"),
    ("from http.client import HTTPConnection\n", "network"),
    ("import asyncio\nasync def f(loop):\n    await loop.create_connection(object, '127.0.0.1', 9)\n", "network"),
    ("import subprocess\n", "process"),
    ("from subprocess import run\n", "process"),
    ("import multiprocessing\n", "process"),
    ("import os\ndef f():\n    os.kill(1, 9)\n", "process"),
    ("import sys, json\nsys.modules['json'] = None\n", "interpreter"),
    ("import sys\ndef f(h):\n    sys.meta_path.insert(0, h)\n", "interpreter"),
    ("import builtins\ndef f(w):\n    builtins.open = w\n", "interpreter"),
    ("import json\ndef f(w):\n    json.dumps = w\n", "interpreter"),
    ("import json\ndef f(w):\n    setattr(json, 'dumps', w)\n", "interpreter"),
    ("import sys\ndef f(h):\n    sys.addaudithook(h)\n", "interpreter"),
    ("import sys\ndef f(h):\n    sys.excepthook = h\n", "interpreter"),
    ("import atexit\n", "interpreter"),
    ("import os\ndef f():\n    os.environ['PATH'] = '/tmp/evil:' + os.environ['PATH']\n", "environment"),
    ("import os\nclass A:\n    x = os.system('id')\n", "process"),
    ("import os\nclass M(type):\n    def __new__(m, n, b, ns):\n        os.system('id')\n        return super().__new__(m, n, b, ns)\nclass K(metaclass=M):\n    pass\n", "process"),
    ("def f():\n    try:\n        import shop_secrets\n    except ImportError:\n        pass\n", "allow = [\"shop_secrets\"]"),
    ("import httpx\n", "allow = [\"httpx\"]"),
    ("import curses\n", "allow = [\"curses\"]"),
]


@pytest.mark.parametrize(("code", "needs"), EVASIONS)
def test_evasions_are_refused_naming_what_they_need(code: str, needs: str) -> None:
    assert needs in refusal(code)


# code that acts on import although no statement at module level is a call; refused even
# when the capability it uses is granted, because import-time is not
ON_IMPORT = [
    "import decimal\ndecimal.getcontext().prec = 2\n",  # every caller's money, rounded to 2 digits
    "import os\ndef _helper():\n    return os.listdir('.')\n_x = _helper()\n",
    "import os\ndef _deco(f):\n    os.listdir('.')\n    return f\n@_deco\ndef g():\n    pass\n",
    "import os\ndef g(x=os.listdir('.')):\n    return x\n",
    "import os\nclass A:\n    files = os.listdir('.')\n",
    "import os\nclass B:\n    def __init_subclass__(cls):\n        os.listdir('.')\nclass C(B):\n    pass\n",
    "import os\nclass D:\n    def __set_name__(self, owner, name):\n        os.listdir('.')\nclass E:\n    d = D()\n",
    "import os\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    _x = os.listdir('.')\n",
    "import os\n(_x := os.listdir('.'))\n",
    "import os\nif __name__ != '__main__':\n    os.listdir('.')\n",
    "import os\n__name__ = '__main__'\nif __name__ == '__main__':\n    os.listdir('.')\n",
    "import os\n_T = {'a': lambda: os.listdir('.')}\n_T['a']()\n",
    "import os\ndef _make():\n    def inner():\n        return os.listdir('.')\n    return inner\n_make()()\n",
    "import os\n_x = [os.listdir('.') for _ in range(1)]\n",
    "import os\nfor _i in range(1):\n    os.listdir('.')\n",
    "import os\nclass F:\n    @property\n    def files(self):\n        return os.listdir('.')\n_f = F().files\n",
    "import os\nwith open(os.devnull) as _fh:\n    pass\n",
    "import random\nrandom.seed(1)\n",
    "print('hello')\n",
    "import sys\nsys.stdout.write('hello')\n",
    "import decimal\ndecimal.setcontext(decimal.Context(prec=4))\n",
    "import os\nclass A:\n    def __getitem__(self, k):\n        return os.listdir('.')\nX = A()[0]\n",
    "import os\nclass A:\n    def __format__(self, s):\n        return str(os.listdir('.'))\nX = f'{A()}'\n",
    "import contextlib, os\n@contextlib.contextmanager\ndef cm():\n    os.listdir('.')\n    yield\nwith cm():\n    pass\n",
    "import os\ndef k(x):\n    os.listdir('.')\n    return x\nX = sorted([1], key=k)\n",
]


@pytest.mark.parametrize("code", ON_IMPORT)
def test_code_that_acts_on_import_needs_import_time(code: str) -> None:
    message = refusal(code, "filesystem")
    assert "runs on import" in message and "import-time" in message
    accepted(code, "filesystem", "import-time")


# idioms the default policy must accept
IDIOMS = [
    "def f(p, d):\n    return '{0.name}: {1[total]:>8.2f} {{braces}}'.format(p, d) + '%(x)s {' % {'x': 1}\n",
    "import logging\nlogger = logging.getLogger(__name__)\nlogger.addHandler(logging.NullHandler())\n",
    "import re\nPATTERN = re.compile(r'\\w+')\ndef f(s):\n    compile = re.compile\n    return compile(s)\n",
    "def compile(x):\n    return x\ndef f():\n    return compile(1)\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pandas as pd\ndef f(x: 'pd.DataFrame') -> int:\n    return len(x)\n",
    "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from shop.models import Order\n",
    "_TABLE = [0] * 256\nfor _i in range(256):\n    _TABLE[_i] = _i * 2 & 0xFF\n",
    "SQUARES = {n: n * n for n in range(10)}\nNAMES = sorted(set('abc'))\n",
    "from collections import namedtuple\nPoint = namedtuple('Point', 'x y')\n",
    "from typing import TypeVar, Generic\nT = TypeVar('T')\nclass Box(Generic[T]):\n    pass\n",
    "from dataclasses import dataclass, field\n@dataclass(frozen=True)\nclass A:\n    xs: list = field(default_factory=list)\n"
    "    def __post_init__(self):\n        object.__setattr__(self, 'xs', list(self.xs))\n",
    "import enum\nclass Colour(enum.Enum):\n    RED = enum.auto()\n    @classmethod\n    def _missing_(cls, value):\n        return cls.RED\n",
    "import threading\n_LOCK = threading.Lock()\n",
    "import functools\n@functools.lru_cache(maxsize=None)\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "class Plugin:\n    registry = []\n    def __init_subclass__(cls, **kw):\n        super().__init_subclass__(**kw)\n        Plugin.registry.append(cls)\n"
    "    @classmethod\n    def all(cls):\n        return cls.__subclasses__()\nclass A(Plugin):\n    pass\n",
    "class V:\n    def __init__(self, v):\n        self.v = v\n    def __add__(self, o):\n        return type(self)(self.v + o.v)\n"
    "    def __repr__(self):\n        return f'{self.__class__.__name__}({self.v})'\n",
    "import sys\ndef f():\n    sys.stdout.write('x')\n    print('y', file=sys.stderr)\n    return sys.version_info >= (3, 10)\n",
    "import os\nSEP = os.sep\ndef f(a, b):\n    return os.path.join(a, os.path.basename(b))\n",
    "import operator\ndef f(rows):\n    return sorted(rows, key=operator.attrgetter('name'))\n",
    "def f(o):\n    return getattr(o, 'name', None), hasattr(o, 'x')\n",
    "import json, csv, io, hashlib, base64, math, datetime, decimal, statistics, itertools\n"
    "def f(text):\n    rows = list(csv.reader(io.StringIO(text)))\n"
    "    return json.dumps(rows), hashlib.sha256(text.encode()).hexdigest(), math.pi, datetime.datetime.now()\n",
    "import warnings\ndef old():\n    warnings.warn('old', DeprecationWarning, stacklevel=2)\n",
    "import abc, contextlib\nclass B(abc.ABC):\n    @abc.abstractmethod\n    def f(self): ...\n"
    "@contextlib.contextmanager\ndef cm():\n    yield\n",
    "__all__ = ['f']\n__version__ = '1.0'\ndef f():\n    return __name__\nif __name__ == '__main__':\n    print(f())\n",
    "from typing import Optional, cast\nX = Optional['Order']\ndef f(x):\n    return cast('int', x)\n",
    "import random\ndef roll():\n    return random.randint(1, 6)\n",
    "import textwrap, unicodedata, string\ndef f(s):\n    return textwrap.shorten(unicodedata.normalize('NFKD', s), 10) + string.ascii_letters\n",
    "from pathlib import PurePosixPath\ndef f(p):\n    return PurePosixPath(p).suffix\n",
    "import asyncio\nasync def f():\n    await asyncio.sleep(0)\n    return await asyncio.gather(asyncio.sleep(0))\n",
    "import uuid\ndef f():\n    return uuid.uuid4().hex\n",
    "import time\ndef f():\n    return time.perf_counter()\n",
    "class P:\n    def __init__(self):\n        self.x = 1\n    def d(self):\n        return vars(self), self.__dict__, P.__dict__\n",
    "class Door:\n    def open(self):\n        return 1\n    def go(self):\n        return self.open()\n",
    "from html.parser import HTMLParser\nclass P(HTMLParser):\n    def handle_data(self, d):\n        self.d = d\n",
    "import sysconfig\ndef f():\n    return sysconfig.get_paths()['purelib']\n",
]


@pytest.mark.parametrize("code", IDIOMS)
def test_ordinary_idioms_are_accepted_by_default(code: str) -> None:
    accepted(code)


def test_grants_lift_exactly_their_rules() -> None:
    code = "import os, socket\ndef f(p):\n    return open(p).read(), socket.socket(), os.getenv('X')\n"
    message = refusal(code, "filesystem")
    assert "'network'" in message and "'environment'" in message and "'filesystem'" not in message
    accepted(code, "filesystem", "network", "environment")
    accepted(code, "filesystem", "socket", "os.getenv")  # by name: a module, a dotted name


def test_every_violation_is_reported_in_one_message_with_line_code_and_grant() -> None:
    message = refusal(
        "import os, subprocess\n"
        "def f(p):\n"
        "    subprocess.run(['ls'])\n"
        "    return open(p).read()\n"
        "X = os.environ.get('HOME')\n"
    )
    assert "refused 5 uses" in message
    lines = message.splitlines()[1:]
    assert lines[0].startswith("- line 1: `import os, subprocess` uses subprocess (needs 'process')")
    assert any(line.startswith("- line 3: `subprocess.run(['ls'])` uses subprocess.run (needs 'process')")
               for line in lines)
    assert any(line.startswith("- line 4: `open(p).read()` uses open (needs 'filesystem')") for line in lines)
    assert any("line 5: `os.environ.get('HOME')` uses os.environ.get (needs 'environment')" in line
               for line in lines)
    assert any("line 5" in line and "runs on import and calls os.environ.get" in line for line in lines)


def test_declared_packages_are_importable() -> None:
    code = "import httpx\ndef f(u):\n    return httpx.get(u)\n"
    assert "allow = [\"httpx\"]" in refusal(code)
    check_policy(ast.parse(code), Grants(packages=frozenset({"httpx"})), code)
