"""What each name generated code can reach is allowed to do: the policy's tables.

Default deny. A name is *pure* (computes; fine anywhere), an *effect* (changes
this process's state, such as ``random.seed``: fine inside a function, but at
module level it needs ``import-time``), or needs a **capability** the project
grants. Standard-library modules not listed here are not vetted: a project
grants them by name (``allow = ["wave"]``). Third-party packages are importable
when the project declares them (``[project] dependencies``) or grants them.

Modules listed as pure can reach files, processes or the network only in the
ways their tables name; the justifications:

* ``os``, ``os.path``: path arithmetic, constants and process facts
  (``getpid``, ``cpu_count``, ``urandom``) are pure; everything that touches the
  file system is ``filesystem``; ``environ``/``getenv``/``putenv`` are
  ``environment``; exec/spawn/fork/kill/wait are ``process``.
* ``sys``: version facts, ``argv``, the standard streams and ``exc_info`` are
  pure; ``modules``, ``meta_path``, ``path``, hooks, tracing, limits and frames
  are ``interpreter``.
* ``io``: in-memory streams are pure; ``open``/``FileIO``/``open_code`` are
  ``filesystem``.  ``pathlib``: the ``Pure*`` classes are pure; ``Path`` does
  I/O, so it is ``filesystem``.
* ``logging``: loggers, handlers that write to a stream, formatters are pure
  (library logging idiom); file and network handlers are ``filesystem`` or
  ``network``; ``basicConfig`` and ``logging.config`` change the process's
  logging (``interpreter``; ``logging.config`` can also open sockets: ``dynamic``).
* ``configparser``, ``xml.etree.ElementTree``, ``tokenize``, ``codecs``,
  ``gzip``/``bz2``/``lzma``, ``mimetypes``: parsing and compressing data in
  memory is pure; their functions that take a file name are ``filesystem``.
* ``asyncio``, ``concurrent.futures``, ``threading``: tasks, threads and locks
  are pure; sockets and subprocesses (``open_connection``, ``create_subprocess_*``,
  the loop's ``create_connection``/``subprocess_exec``, process pools) are
  ``network`` or ``process``.
* ``platform``, ``uuid``: their few functions that may run a command
  (``platform.architecture``, ``uuid.getnode``/``uuid1``) are ``process``.
* ``typing``, ``inspect``, ``types``, ``operator``, ``string``, ``traceback``:
  what evaluates strings or reaches frames, globals or arbitrary attributes
  (``get_type_hints``, ``ForwardRef``, ``currentframe``, ``FunctionType``,
  ``string.Formatter``, ``walk_stack``) is ``dynamic``.
"""

from __future__ import annotations

import builtins
import fnmatch
import sys

PURE = "pure"
EFFECT = "effect"  # changes process state: fine when called, needs import-time on import
NOT_VETTED = "not-vetted"  # a standard-library module the tables do not cover

CAPABILITIES: dict[str, str] = {
    "filesystem": "read, write or list files (open, pathlib I/O, os file functions, tempfile, shutil)",
    "network": "sockets, HTTP clients, urllib.request, asyncio connections",
    "process": "start or signal processes (subprocess, os exec/spawn/fork/kill, multiprocessing, signal)",
    "environment": "read or change environment variables (os.environ, os.getenv)",
    "dynamic": "run or reach code by name (eval, exec, compile, __import__, importlib, pickle, "
    "computed getattr/setattr, vars, globals, frames, dunder attributes beyond a safe few)",
    "native": "native code (ctypes, cffi, loading extension libraries)",
    "interpreter": "change the interpreter (sys.modules, meta_path, builtins, atexit, audit hooks, "
    "excepthook, site, warning filters, recursion limit, another module's attributes)",
    "import-time": "module-level code that does more than define names (calls that act, "
    "print, local functions with effects run on import)",
}

# module -> verdict for the whole module (and its submodules without an entry of their own),
# or a table: attribute path (fnmatch pattern, matched on the real object's qualified name
# where there is one) -> verdict, "*" for the rest. Private names (_x) are never vetted.
_Table = dict[str, str]
MODULES: dict[str, str | _Table] = {
    # text and data, computed in memory
    **dict.fromkeys(
        (
            "__future__ abc array ast base64 binascii bisect calendar cmath collections colorsys "
            "contextvars copy csv dataclasses datetime difflib email enum errno fractions "
            "functools graphlib hashlib heapq hmac html ipaddress itertools json keyword math "
            "numbers pprint queue quopri reprlib re sched secrets stat statistics stringprep "
            "struct textwrap token tomllib unicodedata weakref zlib zoneinfo argparse getopt "
            "optparse fnmatch plistlib urllib urllib.parse urllib.error html.parser html.entities "
            "xml xml.dom xml.parsers"
        ).split(),
        PURE,
    ),
    "json.tool": "filesystem",
    "random": {"seed": EFFECT, "setstate": EFFECT, "*": PURE},
    # the thread's context is shared: changing it (getcontext().prec = 2) changes every caller's
    "decimal": {"setcontext": EFFECT, "getcontext": EFFECT, "*": PURE},
    "time": {"sleep": EFFECT, "tzset": "environment", "*": PURE},
    "string": {"Formatter": "dynamic", "*": PURE},
    "codecs": {
        "open": "filesystem",
        "EncodedFile": "filesystem",
        "register*": "interpreter",
        "unregister": "interpreter",
        "*": PURE,
    },
    "shlex": {"shlex": "filesystem", "*": PURE},  # a shlex lexer can source files
    "operator": {"*": PURE},  # attrgetter/methodcaller are checked as getattr is
    "typing": {"get_type_hints": "dynamic", "ForwardRef": "dynamic", "*": PURE},
    "types": {
        "SimpleNamespace": PURE,
        "MappingProxyType": PURE,
        "GenericAlias": PURE,
        "UnionType": PURE,
        "NoneType": PURE,
        "NotImplementedType": PURE,
        "EllipsisType": PURE,
        "MethodType": PURE,
        "coroutine": PURE,
        "DynamicClassAttribute": PURE,
        "resolve_bases": PURE,
        "prepare_class": PURE,
        "*Type": "dynamic",
        "*": "dynamic",
    },
    "contextlib": {
        "chdir": "filesystem",
        "redirect_stdout": EFFECT,
        "redirect_stderr": EFFECT,
        "*": PURE,
    },
    "warnings": {
        "warn": EFFECT,
        "warn_explicit": EFFECT,
        "catch_warnings": PURE,
        "WarningMessage": PURE,
        "*Warning": PURE,
        "*": "interpreter",
    },
    "traceback": {
        "walk_stack": "dynamic",
        "walk_tb": "dynamic",
        "extract_stack": PURE,
        "print_*": EFFECT,
        "*": PURE,
    },
    "inspect": {
        **dict.fromkeys(
            (
                "signature Signature Parameter BoundArguments is* getdoc cleandoc getmro unwrap "
                "iscoroutinefunction markcoroutinefunction get_annotations getfullargspec "
                "formatannotation CO_* Attribute ClassFoundException"
            ).split(),
            PURE,
        ),
        "*": "dynamic",
    },
    "dis": {"*": PURE},
    "tokenize": {"open": "filesystem", "*": PURE},
    "gzip": {"open": "filesystem", "GzipFile": "filesystem", "*": PURE},
    "bz2": {"open": "filesystem", "BZ2File": "filesystem", "*": PURE},
    "lzma": {"open": "filesystem", "LZMAFile": "filesystem", "*": PURE},
    "mimetypes": {
        "read_mime_types": "filesystem",
        "init": "filesystem",
        "add_type": "interpreter",  # the process's own table
        "MimeTypes.read*": "filesystem",
        "*": PURE,
    },
    "configparser": {"RawConfigParser.read": "filesystem", "*": PURE},
    "xml.etree": PURE,
    "xml.etree.ElementTree": {
        "parse": "filesystem",
        "iterparse": "filesystem",
        "ElementTree.parse": "filesystem",
        "ElementTree.write": "filesystem",
        "*": PURE,
    },
    "xml.dom.minidom": {"parse": "filesystem", "*": PURE},
    "xml.sax": "filesystem",
    "email.generator": PURE,
    "http": {"HTTPStatus": PURE, "HTTPMethod": PURE, "*": "network"},
    "http.cookies": PURE,
    "pickle": {
        "dumps": PURE,
        "dump": PURE,
        "PickleError": PURE,
        "PicklingError": PURE,
        "UnpicklingError": PURE,
        "HIGHEST_PROTOCOL": PURE,
        "DEFAULT_PROTOCOL": PURE,
        "*": "dynamic",
    },
    "marshal": {"dumps": PURE, "dump": PURE, "version": PURE, "*": "dynamic"},
    "uuid": {"getnode": "process", "uuid1": "process", "*": PURE},
    "platform": {
        **dict.fromkeys(
            (
                "system machine release version node python_* mac_ver win32_* freedesktop_os_release"
            ).split(),
            PURE,
        ),
        "*": "process",  # uname().processor and platform() may run a command
    },
    "locale": {"setlocale": "interpreter", "*": PURE},
    "threading": {
        "settrace*": "interpreter",
        "setprofile*": "interpreter",
        "excepthook": "interpreter",
        "*": PURE,
    },
    "concurrent": PURE,
    "concurrent.futures": {"ProcessPoolExecutor": "process", "*": PURE},
    "concurrent.futures.process": "process",
    "asyncio": {
        **dict.fromkeys(
            (
                "open_*connection start_*server StreamReader StreamWriter streams "
                "*EventLoop.create_*connection *EventLoop.create_*server "
                "*EventLoop.create_datagram_endpoint *EventLoop.sock_* *EventLoop.getaddrinfo "
                "*EventLoop.getnameinfo *EventLoop.connect_* *EventLoop.sendfile *EventLoop.start_tls"
            ).split(),
            "network",
        ),
        **dict.fromkeys(
            (
                "create_subprocess_* subprocess *EventLoop.subprocess_* *EventLoop.add_signal_handler "
                "*EventLoop.remove_signal_handler"
            ).split(),
            "process",
        ),
        "*EventLoop.*_reader": "filesystem",
        "*EventLoop.*_writer": "filesystem",
        "set_event_loop_policy": "interpreter",
        "*": PURE,
    },
    "logging": {
        **dict.fromkeys(
            "FileHandler handlers.*FileHandler* handlers.WatchedFileHandler".split(), "filesystem"
        ),
        **dict.fromkeys(
            (
                "handlers.SocketHandler handlers.DatagramHandler handlers.SysLogHandler "
                "handlers.SMTPHandler handlers.HTTPHandler handlers.NTEventLogHandler"
            ).split(),
            "network",
        ),
        "handlers.QueueListener": PURE,
        "handlers.QueueHandler": PURE,
        "handlers.MemoryHandler": PURE,
        "handlers.BufferingHandler": PURE,
        "config": "dynamic",
        "config.*": "dynamic",
        **dict.fromkeys(
            (
                "basicConfig disable setLoggerClass setLogRecordFactory captureWarnings addLevelName "
                "shutdown root raiseExceptions lastResort logThreads logProcesses logMultiprocessing"
            ).split(),
            "interpreter",
        ),
        "*": PURE,
    },
    "logging.handlers": {
        "QueueHandler": PURE,
        "QueueListener": PURE,
        "MemoryHandler": PURE,
        "BufferingHandler": PURE,
        "*FileHandler": "filesystem",
        "*": "network",
    },
    "logging.config": "dynamic",
    "shutil": {"get_terminal_size": PURE, "*": "filesystem"},
    "io": {"open": "filesystem", "open_code": "filesystem", "FileIO": "filesystem", "*": PURE},
    "pathlib": {
        "PurePath": PURE,
        "PurePosixPath": PURE,
        "PureWindowsPath": PURE,
        "*": "filesystem",
    },
    "os": {
        **dict.fromkeys(
            (
                "sep altsep extsep pathsep linesep curdir pardir defpath devnull name fspath fsencode "
                "fsdecode PathLike DirEntry strerror urandom getrandom cpu_count getpid getppid "
                "getuid geteuid getgid getegid getgroups getpgrp getcwd getcwdb uname uname_result "
                "times times_result get_terminal_size terminal_size stat_result statvfs_result error "
                "major minor makedev waitstatus_to_exitcode W* O_* SEEK_* EX_* F_OK R_OK W_OK X_OK "
                "ST_* GRND_* PRIO_* P_* CLD_* SCHED_* RTLD_* supports_* GenericAlias Mapping "
                "MutableMapping confstr_names pathconf_names sysconf_names sysconf confstr getloadavg "
                "isatty device_encoding"
            ).split(),
            PURE,
        ),
        **dict.fromkeys(
            "environ environb getenv getenvb putenv unsetenv get_exec_path getlogin".split(),
            "environment",
        ),
        **dict.fromkeys(
            (
                "system popen exec* spawn* posix_spawn* fork* kill* wait* _exit abort nice setsid "
                "setpgid setpgrp set*uid set*gid setgroups initgroups sched_* pidfd_* startfile "
                "setpriority getpriority getsid getpgid getresuid getresgid plock openpty login_tty "
                "tcsetpgrp tcgetpgrp eventfd*"
            ).split(),
            "process",
        ),
        "register_at_fork": "interpreter",
        "add_dll_directory": "native",
        "*": "filesystem",
    },
    "os.path": {
        **dict.fromkeys(
            (
                "join split splitext splitdrive basename dirname normpath normcase isabs commonpath "
                "commonprefix sep altsep extsep pathsep curdir pardir defpath devnull "
                "supports_unicode_filenames abspath relpath isreserved splitroot"
            ).split(),
            PURE,
        ),
        "expanduser": "environment",
        "expandvars": "environment",
        "*": "filesystem",
    },
    "sys": {
        **dict.fromkeys(
            (
                "version version_info hexversion api_version implementation platform byteorder "
                "maxsize maxunicode float_info int_info hash_info thread_info float_repr_style flags "
                "argv orig_argv stdin stdout stderr __stdin__ __stdout__ __stderr__ exc_info "
                "exception getsizeof getrecursionlimit getdefaultencoding getfilesystemencoding "
                "getfilesystemencodeerrors intern is_finalizing stdlib_module_names "
                "builtin_module_names copyright abiflags executable prefix base_prefix exec_prefix "
                "base_exec_prefix platlibdir get_int_max_str_digits getswitchinterval maxsize "
                "dont_write_bytecode pycache_prefix warnoptions getrefcount ps1 ps2"
            ).split(),
            PURE,
        ),
        "exit": EFFECT,
        # the lists themselves are the process's: reading them is pure, their methods change them
        **dict.fromkeys("argv.* orig_argv.* warnoptions.*".split(), "interpreter"),
        "std*.write*": EFFECT,
        "*std*.buffer.raw": "filesystem",  # the FileIO under a stream: its class opens files
        "std*.reconfigure": "interpreter",
        "*": "interpreter",
    },
    "builtins": {},  # filled from BUILTINS below: builtins.X is the builtin X
    # whole modules that need a capability
    **dict.fromkeys(
        (
            "tempfile glob filecmp fileinput linecache sqlite3 dbm zipfile tarfile mailbox "
            "gettext mmap fcntl pwd grp spwd termios tty wave aifc sunau chunk netrc zipapp "
            "compileall py_compile tabnanny filelock importlib.resources"
        ).split(),
        "filesystem",
    ),
    **dict.fromkeys(
        (
            "socket _socket ssl _ssl select selectors socketserver http.client http.server "
            "http.cookiejar urllib.request urllib.robotparser ftplib poplib imaplib smtplib "
            "telnetlib nntplib xmlrpc wsgiref asynchat asyncore smtpd"
        ).split(),
        "network",
    ),
    **dict.fromkeys(
        (
            "subprocess _posixsubprocess multiprocessing signal _signal pty posix nt _winapi "
            "webbrowser mailcap pipes pydoc crypt _multiprocessing"
        ).split(),
        "process",
    ),
    **dict.fromkeys(
        (
            "importlib pkgutil zipimport imp runpy code codeop timeit pdb bdb trace profile "
            "cProfile pstats doctest unittest copyreg shelve _pickle pickletools _marshal "
            "symtable _imp _frozen_importlib _frozen_importlib_external _io _operator _functools "
            "idlelib tkinter turtle turtledemo antigravity this lib2to3 distutils ensurepip venv "
            "_collections _weakref _abc _string _ast _warnings _sre _json _csv _datetime"
        ).split(),
        "dynamic",
    ),
    "importlib.metadata": {"version": PURE, "PackageNotFoundError": PURE, "*": "dynamic"},
    **dict.fromkeys("ctypes _ctypes cffi _cffi_backend".split(), "native"),
    **dict.fromkeys(
        (
            "gc atexit site sitecustomize usercustomize faulthandler tracemalloc resource "
            "_tracemalloc _xxsubinterpreters"
        ).split(),
        "interpreter",
    ),
}
for _alias in ("posixpath", "ntpath", "genericpath", "macpath"):
    MODULES[_alias] = MODULES["os.path"]
MODULES["sysconfig"] = {  # where things are: facts, not acts
    "get_paths": PURE,
    "get_path": PURE,
    "get_python_version": PURE,
    "get_platform": PURE,
    "get_config_var": PURE,
    "*": "interpreter",
}

# the builtins: anything not listed (a builtin a later Python adds) is not vetted
BUILTINS: dict[str, str] = {
    **dict.fromkeys(
        (
            "abs",
            "aiter",
            "all",
            "anext",
            "any",
            "ascii",
            "bin",
            "bool",
            "bytearray",
            "bytes",
            "callable",
            "chr",
            "classmethod",
            "complex",
            "dict",
            "dir",
            "divmod",
            "enumerate",
            "filter",
            "float",
            "format",
            "frozenset",
            "hasattr",
            "hash",
            "hex",
            "id",
            "int",
            "isinstance",
            "issubclass",
            "iter",
            "len",
            "list",
            "map",
            "max",
            "memoryview",
            "min",
            "next",
            "object",
            "oct",
            "ord",
            "pow",
            "property",
            "range",
            "repr",
            "reversed",
            "round",
            "set",
            "slice",
            "sorted",
            "staticmethod",
            "str",
            "sum",
            "super",
            "tuple",
            "type",
            "zip",
            "None",
            "True",
            "False",
            "Ellipsis",
            "NotImplemented",
            "__debug__",
            "__name__",
            "__doc__",
            "__file__",
            "__package__",
            "__cached__",
            "__path__",
            "__annotations__",
            "__qualname__",
            "__module__",
            "__class__",
            "getattr",
            "setattr",
            "delattr",
            "vars",  # checked by the policy itself, call by call
        ),
        PURE,
    ),
    **dict.fromkeys("print input exit quit copyright credits license".split(), EFFECT),
    "open": "filesystem",
    "help": "process",  # a pager
    **dict.fromkeys(
        (
            "eval exec compile __import__ globals locals breakpoint __builtins__ __loader__ "
            "__spec__ __build_class__"
        ).split(),
        "dynamic",
    ),
}
BUILTINS.update(
    (name, PURE)
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
MODULES["builtins"] = {**BUILTINS, "*": "dynamic"}

# dunder attributes generated code may read; the rest (__globals__, __subclasses__, __code__,
# __builtins__, __mro__, __bases__, __traceback__, __getattribute__, ...) reach code or frames
SAFE_DUNDERS = frozenset(
    "__name__ __qualname__ __doc__ __module__ __class__ __dict__ __annotations__ __slots__ "
    "__all__ __version__ __file__ __wrapped__ __members__ __dataclass_fields__ "
    "__dataclass_params__ __match_args__ __cause__ __context__ __suppress_context__ __notes__ "
    "__init__ __new__ __post_init__ __init_subclass__ __set_name__ __class_getitem__ "
    "__enter__ __exit__ __aenter__ __aexit__ __iter__ __next__ __aiter__ __anext__ __await__ "
    "__len__ __length_hint__ __contains__ __getitem__ __setitem__ __delitem__ __missing__ "
    "__reversed__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __bool__ __repr__ __str__ "
    "__bytes__ __format__ __call__ __copy__ __deepcopy__ __reduce__ __reduce_ex__ "
    "__getstate__ __setstate__ __getnewargs__ __getnewargs_ex__ __sizeof__ __fspath__ "
    "__index__ __int__ __float__ __complex__ __round__ __trunc__ __floor__ __ceil__ "
    "__abs__ __neg__ __pos__ __invert__ __get__ __set__ __delete__ __del__ __origin__ __args__ "
    "__parameters__ __supertype__ __total__ __required_keys__ __optional_keys__".split()
    + [
        f"__{p}{op}__"
        for op in (
            "add sub mul matmul truediv floordiv mod divmod pow lshift " "rshift and xor or"
        ).split()
        for p in ("", "r", "i")
    ]
)
# __args__ of typing constructs hold ForwardRefs, whose strings the policy checks as code
# special methods that set an object up; called directly on some object rather than on a class
# or super() they re-initialise it (``sys.stdin.buffer.raw.__init__(path)`` opens a file)
SETUP_DUNDERS = frozenset("__init__ __new__ __setstate__ __reduce__ __reduce_ex__".split())

# attributes that reach frames, code or globals whatever object they are read from
INTROSPECTION = frozenset(
    "f_globals f_locals f_builtins f_back f_code f_trace f_lasti tb_frame tb_next gi_frame "
    "gi_code cr_frame cr_code ag_frame ag_code co_code co_consts co_names func_globals "
    "func_code im_func _evaluate _eval_type".split()
)

# method names that do I/O whatever the object (a Path passed in, an event loop)
IO_METHODS: dict[str, str] = {
    **dict.fromkeys(
        (
            "open read_text write_text read_bytes write_bytes iterdir rglob unlink touch rmdir "
            "symlink_to hardlink_to lchmod is_mount samefile"
        ).split(),
        "filesystem",
    ),
    **dict.fromkeys(
        (
            "create_connection create_server create_datagram_endpoint create_unix_connection "
            "create_unix_server sock_connect sock_sendall sock_recv sock_recv_into sock_accept "
            "getaddrinfo urlopen"
        ).split(),
        "network",
    ),
    **dict.fromkeys("subprocess_exec subprocess_shell".split(), "process"),
    **dict.fromkeys("load_extension enable_load_extension".split(), "native"),  # sqlite3
}

# the dunder attributes of a module that are data; the rest (__dict__, __loader__, __spec__,
# __builtins__, __getattr__) reach its globals or the import system
MODULE_DUNDERS = frozenset("__name__ __doc__ __file__ __version__ __all__ __package__".split())

# what a call returns, where a later attribute of it matters
RETURNS: dict[str, str] = {
    "logging.getLogger": "logging.Logger",
    "asyncio.get_event_loop": "asyncio.AbstractEventLoop",
    "asyncio.get_running_loop": "asyncio.AbstractEventLoop",
    "asyncio.new_event_loop": "asyncio.AbstractEventLoop",
}


def is_stdlib(module: str) -> bool:
    top = module.partition(".")[0]
    return top in sys.stdlib_module_names or top in MODULES


def module_rule(module: str) -> tuple[str, str | _Table] | None:
    """The entry covering ``module``: its own, else its nearest listed package's."""
    name = module
    while name:
        rule = MODULES.get(name)
        if rule is not None:
            if isinstance(rule, dict) and name != module:
                return name, rule  # a submodule of a module with a table: looked up in it
            return name, rule
        name = name.rpartition(".")[0]
    return None


def lookup(table: _Table, path: str, default: str | None = NOT_VETTED) -> str | None:
    """The verdict for ``path`` (``environ.get``, ``RawConfigParser.read``) in a module table:
    the most specific pattern matching the path or one of its leading parts, else the table's
    ``*`` (or ``default``, when the caller asks what the table names explicitly)."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in table:
            return table[prefix]
        for pattern, verdict in table.items():
            if pattern != "*" and "*" in pattern and fnmatch.fnmatchcase(prefix, pattern):
                return verdict
    return table.get("*", default) if default == NOT_VETTED else default
