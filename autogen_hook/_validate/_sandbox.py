"""The import check's sandbox: every layer the kernel offers, put on in the check's own process.

Loaded by ``_forkserver.py`` (its directory is the script's, first on ``sys.path``) before
the first fork, so it uses only the standard library; what it imports (ctypes, struct,
resource) is taken out of the child's ``sys.modules`` once the layers are on. The server
builds the seccomp filter once; each forked child calls :func:`enter`, in this order:

1. its own process group, killed (SIGKILL) when the server dies;
2. no inherited descriptor but its result pipe (fd 3); stdin from /dev/null, stdout and
   stderr into an unlinked capture file that only the server can read back;
3. a fresh temporary directory as working directory, ``HOME`` and ``TMPDIR``;
4. an environment built from nothing (the job's, no credentials);
5. new user, network and IPC namespaces: the same uid for file access, no capability in
   the initial namespace, a network namespace whose loopback is down, no System V IPC;
6. no capabilities left at all, even in the new namespace;
7. limits: CPU seconds, address space, file size, open files, tasks (threads; the kernel
   does not apply that one to root), no core dumps;
8. no new privileges;
9. Landlock: read (and execute) the interpreter's directories, the system's libraries and
   the importable code the job lists, write only in the temporary directory; no TCP bind or
   connect; no signals or abstract Unix sockets to processes outside the check;
10. seccomp: no new processes (threads only), no sockets but Unix ones and no connect, bind
    or send to an address, no ptrace, mounts, namespaces, kernel keys, modules, BPF,
    io_uring, clock or host changes, terminal injection, no change of files' modes, owners,
    times or extended attributes (Landlock does not cover those); signals (SIGIO too),
    limits, scheduling and priorities only of itself; its parent-death signal stays.

A layer the platform lacks is skipped and reported (:func:`enter` returns why), so the
caller can warn once and ``autogen-hook doctor`` can show it. Linux layers need x86_64 or
aarch64 syscall numbers; elsewhere the portable layers (1-4, 7) are what there is.
"""

from __future__ import annotations

import os
import struct
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

try:
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except (ImportError, OSError):
    _libc = None
if _libc is not None:
    _libc.syscall.restype = ctypes.c_long

RESULT_FD = 3  # the child's result pipe once the layers are on
LAYERS = {  # key: what the layer does, as reported
    "process": "own process group, killed with the check server",
    "descriptors": "only its result pipe open; output captured",
    "directory": "a fresh temporary directory as cwd, HOME and TMPDIR",
    "environment": "environment built from nothing",
    "namespaces": "user, network and IPC namespaces (no network, no outside capabilities)",
    "capabilities": "no capabilities",
    "limits": "CPU, memory, file size, open files and tasks limited",
    "no_new_privs": "no new privileges",
    "landlock": "Landlock: reads of the interpreter and importable code, writes in its directory",
    "seccomp": "seccomp: no new processes, network, ptrace, mounts or kernel interfaces",
}
Layers = dict  # key -> [active, detail]


class Unavailable(Exception):
    """A layer this platform does not offer; the message says why."""


# Syscall numbers: x86_64 from the kernel's syscall_64.tbl (checked against
# <asm/unistd_64.h>), aarch64 from <asm-generic/unistd.h>; from 451 on the numbers are the
# same on every arch (the kernel's scripts/syscall.tbl). None: not on that arch.
_SYSCALLS = {
    "fork": (57, None), "vfork": (58, None), "execve": (59, 221), "execveat": (322, 281),
    "clone": (56, 220), "clone3": (435, 435), "socket": (41, 198), "connect": (42, 203),
    "bind": (49, 200), "sendto": (44, 206), "sendmsg": (46, 211), "sendmmsg": (307, 269),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131), "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240), "pidfd_send_signal": (424, 424), "pidfd_getfd": (438, 438),
    "setsid": (112, 157), "setpgid": (109, 154), "mount": (165, 40), "umount2": (166, 39),
    "pivot_root": (155, 41), "chroot": (161, 51), "unshare": (272, 97), "setns": (308, 268),
    "fsopen": (430, 430), "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433),
    "move_mount": (429, 429), "open_tree": (428, 428), "mount_setattr": (442, 442),
    "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "reboot": (169, 142),
    "swapon": (167, 224), "swapoff": (168, 225), "open_by_handle_at": (304, 265),
    "name_to_handle_at": (303, 264), "fanotify_init": (300, 262), "iopl": (172, None),
    "ioperm": (173, None), "clock_settime": (227, 112), "settimeofday": (164, 170),
    "adjtimex": (159, 171), "clock_adjtime": (305, 266), "sethostname": (170, 161),
    "setdomainname": (171, 162), "acct": (163, 89), "quotactl": (179, 60),
    "quotactl_fd": (443, 443), "syslog": (103, 116), "ioctl": (16, 29), "capset": (126, 91),
    "open_tree_attr": (467, 467), "chmod": (90, None), "fchmod": (91, 52), "fchmodat": (268, 53),
    "fchmodat2": (452, 452), "chown": (92, None), "fchown": (93, 55), "lchown": (94, None),
    "fchownat": (260, 54), "utime": (132, None), "utimes": (235, None), "futimesat": (261, None),
    "utimensat": (280, 88), "setxattr": (188, 5), "lsetxattr": (189, 6), "fsetxattr": (190, 7),
    "removexattr": (197, 14), "lremovexattr": (198, 15), "fremovexattr": (199, 16),
    "setxattrat": (463, 463), "removexattrat": (466, 466), "file_setattr": (469, 469),
    "prlimit64": (302, 261), "sched_setaffinity": (203, 122), "sched_setscheduler": (144, 119),
    "sched_setparam": (142, 118), "sched_setattr": (314, 274), "setpriority": (141, 140),
    "ioprio_set": (251, 30), "prctl": (157, 167), "fcntl": (72, 25),
    "landlock_create_ruleset": (444, 444), "landlock_add_rule": (445, 445),
    "landlock_restrict_self": (446, 446),
}
_ARCHES = {"x86_64": (0, 0xC000003E), "aarch64": (1, 0xC00000B7)}  # column, AUDIT_ARCH_*
_MACHINE = os.uname().machine if hasattr(os, "uname") else ""
_COLUMN, _AUDIT_ARCH = _ARCHES.get(_MACHINE, (None, 0))
_NR: dict[str, int] = {}  # this machine's numbers
for _name, _numbers in _SYSCALLS.items():
    if _COLUMN is not None and _numbers[_COLUMN] is not None:
        _NR[_name] = _numbers[_COLUMN]  # type: ignore[assignment]

# always refused (EPERM); the rest are conditional, below
_REFUSED = (
    "fork", "vfork", "execve", "execveat", "connect", "bind", "sendmsg", "sendmmsg", "ptrace",
    "process_vm_readv", "process_vm_writev", "tkill", "pidfd_send_signal", "pidfd_getfd",
    "setsid", "setpgid", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    "open_tree_attr", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
    "open_by_handle_at", "name_to_handle_at", "fanotify_init", "iopl", "ioperm",
    "clock_settime", "settimeofday", "adjtimex", "clock_adjtime", "sethostname",
    "setdomainname", "acct", "quotactl", "quotactl_fd", "syslog",
    # Landlock does not cover metadata: a root check could chmod any root-owned file
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "utime",
    "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr", "fsetxattr", "removexattr",
    "lremovexattr", "fremovexattr", "setxattrat", "removexattrat", "file_setattr",
)

_CLONE_NEWNS, _CLONE_THREAD, _CLONE_NEWCGROUP = 0x00020000, 0x00010000, 0x02000000
_CLONE_NEWUTS, _CLONE_NEWIPC, _CLONE_NEWUSER = 0x04000000, 0x08000000, 0x10000000
_CLONE_NEWPID, _CLONE_NEWNET = 0x20000000, 0x40000000
_NAMESPACES = _CLONE_NEWNS | _CLONE_NEWCGROUP | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWUSER
_NAMESPACES |= _CLONE_NEWPID | _CLONE_NEWNET
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 1, 38, 22, 2
_EPERM, _ENOSYS, _AF_UNIX, _TIOCSTI, _SIGKILL = 1, 38, 1, 0x5412, 9
_F_SETOWN, _F_SETOWN_EX = 8, 15  # SIGIO to another process

# Landlock (include/uapi/linux/landlock.h): file-system rights by ABI, TCP rights from 4,
# scopes from 6.
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_MAKE_CHAR, _FS_MAKE_BLOCK, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 6, 1 << 11, 1 << 14, 1 << 15
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
ACCESS = {  # the kinds of rule a job lists -> the rights they grant
    "tree": _FS_READ_FILE | _FS_READ_DIR | _FS_EXECUTE,  # a directory and all below it
    "list": _FS_READ_DIR,  # one directory's listing
    "file": _FS_READ_FILE,  # one file (a file takes file rights only)
    "device": _FS_READ_FILE | _FS_WRITE_FILE | _FS_TRUNCATE,  # /dev/null
    "work": ((1 << 16) - 1) & ~(_FS_EXECUTE | _FS_MAKE_CHAR | _FS_MAKE_BLOCK | _FS_IOCTL_DEV),
}


def enter(job: dict[str, Any], directory: str, result_fd: int, output_fd: int, parent: int) -> Layers:
    """Put every layer on this process, in order; return each layer's [active, detail].

    ``directory`` is the check's own (the caller creates and removes it); afterwards the
    result goes to :data:`RESULT_FD`, print() to the capture file behind ``output_fd``.
    """
    layers: Layers = {}
    steps = (
        ("process", _process_group, (parent,)),
        ("descriptors", _descriptors, (result_fd, output_fd)),
        ("directory", os.chdir, (directory,)),
        ("environment", _environment, (job["environ"], directory)),
        ("namespaces", _namespaces, ()),
        ("capabilities", _no_capabilities, ()),
        ("limits", _limits, (job["limits"],)),
        ("no_new_privs", _no_new_privs, ()),
        ("landlock", _landlock, ([*job["rules"], (directory, "work")],)),
        ("seccomp", _seccomp, ()),
    )
    for key, step, args in steps:
        try:
            layers[key] = [True, step(*args) or ""]
        except (Unavailable, OSError) as exc:
            layers[key] = [False, str(exc)]
    return layers


def _process_group(parent: int) -> str:
    """The server kills the whole group when the check ends; nothing outlives the server."""
    if not hasattr(os, "setpgid"):
        raise Unavailable("no process groups on this platform")
    if os.getpgid(0) != os.getpid():  # a fresh interpreter may lead its group already
        os.setpgid(0, 0)
    if _libc is None:
        return "no parent-death signal on this platform"
    _call(_libc.prctl, _PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the server died before the signal was set
        os._exit(1)
    return ""


def _descriptors(result_fd: int, output_fd: int) -> str:
    """Other checks' pipes and the server's stdin/stdout must not be reachable from here."""
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    if result_fd != RESULT_FD:
        os.dup2(result_fd, RESULT_FD)
    os.closerange(RESULT_FD + 1, _open_max())
    return ""


def _open_max() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (AttributeError, ValueError, OSError):
        return 1 << 16


def _environment(environ: dict[str, str], directory: str) -> str:
    """Only what the job lists; the server itself was started with no more than that."""
    os.environ.clear()
    os.environ.update(environ, HOME=directory, TMPDIR=directory)
    return ""


def _namespaces() -> str:
    """As root this drops every capability of the initial namespace; the uid stays the same,
    so files keep their usual permissions. The new network namespace has only a loopback,
    down: connecting anywhere fails with ENETUNREACH; the new IPC namespace hides the user's
    System V shared memory, semaphores and message queues."""
    if _libc is None:
        raise Unavailable("Linux only")
    uid, gid = os.geteuid(), os.getegid()
    _call(_libc.unshare, _CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWIPC)
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    return ""


def _no_capabilities() -> str:
    """Empty effective, permitted and inheritable sets (the new namespace granted them all)."""
    if _libc is None or "capset" not in _NR:
        raise Unavailable("Linux x86_64/aarch64 only")
    header = ctypes.create_string_buffer(struct.pack("Ii", 0x20080522, 0))  # _LINUX_CAPABILITY_VERSION_3
    data = ctypes.create_string_buffer(24)  # two all-zero __user_cap_data_struct
    _syscall("capset", header, data)
    return ""


def _limits(limits: dict[str, int]) -> str:
    """Time, memory and disk are bounded even if the module ignores its alarm."""
    if resource is None:
        raise Unavailable("no resource limits on this platform")
    seconds = limits["seconds"]
    wanted = [
        ("RLIMIT_CPU", seconds, seconds + 1),  # SIGXCPU, then SIGKILL
        ("RLIMIT_AS", limits["memory"], limits["memory"]),
        ("RLIMIT_FSIZE", limits["file_size"], limits["file_size"]),
        ("RLIMIT_NOFILE", limits["files"], limits["files"]),
        ("RLIMIT_CORE", 0, 0),
        ("RLIMIT_NPROC", limits["tasks"], limits["tasks"]),  # counted in the new namespace
    ]
    skipped = []
    for name, soft, hard in wanted:
        which = getattr(resource, name, -1)
        try:
            _, current = resource.getrlimit(which)
            if current != resource.RLIM_INFINITY:
                hard = min(hard, current)
            resource.setrlimit(which, (min(soft, hard), hard))
        except (TypeError, ValueError, OSError):  # absent here, or not settable
            skipped.append(name)
    if len(skipped) == len(wanted):
        raise Unavailable("no limit could be set")
    return f"not set here: {', '.join(skipped)}" if skipped else ""


def _no_new_privs() -> str:
    """Landlock and seccomp need it; it also makes setuid binaries inert."""
    if _libc is None:
        raise Unavailable("Linux only")
    _call(_libc.prctl, _PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return ""


def _landlock(rules: list[tuple[str, str]]) -> str:
    """Handle every right the running ABI knows; grant only what the rules list."""
    if _libc is None or "landlock_create_ruleset" not in _NR:
        raise Unavailable("Linux x86_64/aarch64 only")
    try:
        abi = _syscall("landlock_create_ruleset", None, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
    except OSError as exc:
        raise Unavailable(f"not enabled in this kernel ({os.strerror(exc.errno or 0)})") from None
    handled_fs = _FS_BY_ABI[max(v for v in _FS_BY_ABI if v <= abi)]
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = ctypes.create_string_buffer(struct.pack("QQQ", handled_fs, net, scoped))
    ruleset = _syscall("landlock_create_ruleset", attr, 8 if abi < 4 else 16 if abi < 6 else 24, 0)
    try:
        for path, kind in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # gone since the rules were made: nothing to grant
            beneath = ctypes.create_string_buffer(struct.pack("=Qi", ACCESS[kind] & handled_fs, fd))
            try:
                _syscall("landlock_add_rule", ruleset, 1, beneath, 0)  # LANDLOCK_RULE_PATH_BENEATH
            except OSError:
                pass  # e.g. a directory that became a file: that path is simply not granted
            finally:
                os.close(fd)
        _syscall("landlock_restrict_self", ruleset, 0)
    finally:
        os.close(ruleset)
    gaps = [gap for below, gap in ((4, "TCP left to the network namespace"),
                                   (6, "signals and abstract sockets left to seccomp")) if abi < below]
    return f"ABI {abi}" + "".join(f"; {gap}" for gap in gaps)


def _seccomp() -> str:
    """The filter the server built once, with this process's pid in the rules about other processes."""
    if _libc is None or _HEAD is None:
        raise Unavailable("Linux x86_64/aarch64 only")
    program = _HEAD + _own_process_rules(os.getpid()) + _ret(_ALLOW)
    buffer = ctypes.create_string_buffer(program)
    fprog = _Program(len(program) // 8, ctypes.addressof(buffer))
    try:
        _call(_libc.prctl, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0)
    except OSError as exc:
        raise Unavailable(f"not available in this kernel ({os.strerror(exc.errno or 0)})") from None
    return ""


# Classic BPF over struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];}
_LD, _JEQ, _JGE, _AND, _RET = 0x20, 0x15, 0x35, 0x54, 0x06
_ALLOW, _KILL, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


def _ret(value: int) -> bytes:
    return _op(_RET, value)


def _arg(index: int, high: bool = False) -> bytes:
    return _op(_LD, 16 + 8 * index + (4 if high else 0))  # little-endian on both arches


def _when(name: str, *body: bytes) -> bytes:
    """The body runs (and returns) only for syscall ``name``; the accumulator holds nr."""
    return _op(_JEQ, _NR[name], 0, len(body)) + b"".join(body) if name in _NR else b""


def _filter_head() -> bytes:
    """Arch check, the refused syscalls and the argument rules that do not depend on the pid."""
    deny, allow = _ret(_ERRNO | _EPERM), _ret(_ALLOW)
    program = _op(_LD, 4) + _op(_JEQ, _AUDIT_ARCH, 1, 0) + _ret(_KILL) + _op(_LD, 0)
    if _MACHINE == "x86_64":  # x32 syscalls would bypass every rule below
        program += _op(_JGE, 0x40000000, 0, 1) + _ret(_KILL)
    for name in _REFUSED:
        program += _when(name, deny)
    program += _when("clone3", _ret(_ERRNO | _ENOSYS))  # flags unseen: glibc falls back to clone
    program += _when(  # threads, and no namespace with them
        "clone", _arg(0), _op(_AND, _CLONE_THREAD | _NAMESPACES), _op(_JEQ, _CLONE_THREAD, 0, 1), allow, deny
    )
    program += _when("socket", _arg(0), _op(_JEQ, _AF_UNIX, 0, 1), allow, deny)
    program += _when(  # send(), not sendto() with an address
        "sendto", _arg(4), _op(_JEQ, 0, 0, 3), _arg(4, high=True), _op(_JEQ, 0, 0, 1), allow, deny
    )
    program += _when("ioctl", _arg(1), _op(_JEQ, _TIOCSTI, 0, 1), deny, allow)  # typing into a tty
    program += _when("prctl", _arg(0), _op(_JEQ, _PR_SET_PDEATHSIG, 0, 1), deny, allow)  # outliving the server
    program += _when("fcntl", _arg(1), _op(_JEQ, _F_SETOWN, 1, 0), _op(_JEQ, _F_SETOWN_EX, 0, 1), deny, allow)
    return program


def _own_process_rules(pid: int) -> bytes:
    """Signals, resource limits, scheduling and priorities: its own (pid, 0 for itself, its
    group), nobody else's; the same uid would otherwise reach every process of the user."""
    deny, allow = _ret(_ERRNO | _EPERM), _ret(_ALLOW)
    rules = _when("kill", _arg(0), _op(_JEQ, pid, 3, 0), _op(_JEQ, 0, 2, 0), _op(_JEQ, -pid, 1, 0), deny, allow)
    for name in ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        rules += _when(name, _arg(0), _op(_JEQ, pid, 0, 1), allow, deny)
    itself = (_op(_JEQ, 0, 1, 0), _op(_JEQ, pid, 0, 1), allow, deny)  # on the accumulator
    for name in ("prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr"):
        rules += _when(name, _arg(0), *itself)
    for name, process in (("setpriority", 0), ("ioprio_set", 1)):  # PRIO_PROCESS, IOPRIO_WHO_PROCESS
        rules += _when(name, _arg(0), _op(_JEQ, process, 0, 4), _arg(1), *itself)
    return rules


_HEAD = _filter_head() if _NR else None
if _libc is not None:

    class _Program(ctypes.Structure):
        """struct sock_fprog: the filter's length in instructions, and where it is."""

        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _call(function: Any, *args: int) -> int:
    result = function(*(ctypes.c_long(a) for a in args))
    if result == -1:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


def _syscall(name: str, *args: Any) -> int:
    assert _libc is not None
    converted = [a if isinstance(a, ctypes.Array) or a is None else ctypes.c_long(a) for a in args]
    result = _libc.syscall(ctypes.c_long(_NR[name]), *converted)
    if result == -1:
        error = ctypes.get_errno()
        raise OSError(error, f"{name}: {os.strerror(error)}")
    return result


def remove_tree(path: str) -> None:
    """Remove the check's directory and everything in it, never following a symlink it made."""
    try:
        os.chmod(path, 0o700)  # the module may have taken its own rights away
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            remove_tree(entry.path)
        else:
            os.unlink(entry.path)
    os.rmdir(path)


def make_directory(base: str) -> str:
    """A new directory only this user can enter, under ``base`` (the system's temp dir)."""
    while True:
        path = os.path.join(base, f"autogen-check-{os.urandom(6).hex()}")
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
