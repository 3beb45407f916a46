"""The confinement of a worker process: no network, bounded memory and CPU, first to go.

Applied in a freshly forked process before it touches untrusted input (see
:mod:`kg.workers`). Three layers, each on its own enough to stop what it is for, and an order
for the kernel:

* **seccomp** (Linux x86-64 and AArch64, unprivileged once ``no_new_privs`` is set): the
  process and its children may not create any socket but a Unix-domain one, nor connect,
  bind, listen or accept, nor use io_uring (which could bypass the syscall filter). Such a
  call fails with ``EACCES``; the engine reports an error and the worker lives on.
* **a network namespace** where the kernel lets an unprivileged process make one (a user
  namespace with a network namespace): no interface but a loopback that is down. Best
  effort; seccomp is the guard that must hold.
* **resource limits**: ``RLIMIT_AS`` (address space: the size at the time of the call plus
  an allowance, so a worker that shares a large store copy-on-write is not penalised for
  it) and ``RLIMIT_CPU``. Past them an allocation fails (the process aborts) or the kernel
  ends the process; the pool sees a dead worker and replaces it.
* **the first to go** when the machine runs out of memory: ``oom_score_adj`` 1000, so the
  kernel's out-of-memory killer ends a worker, whose request fails and which the pool
  replaces, before the server. (``RLIMIT_AS`` bounds a worker's address space, not the pages
  it copies of a store it shares copy-on-write; at 10M triples in memory, eight heavy queries
  at once left the machine without memory and the kernel ended the server itself:
  ``docs/performance.md``.)

On other systems (macOS, other architectures) seccomp is not available: :func:`confine`
then reports ``"none"`` for the network layer, and ``/-/health`` says so. Run the service
only on Linux x86-64 or AArch64 where it faces the public internet.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import resource
import struct
from dataclasses import dataclass

# Constants from <linux/seccomp.h>, <linux/filter.h>, <linux/audit.h>.
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_AF_UNIX = 1
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class _Arch:
    audit: int
    seccomp: int  # the seccomp(2) syscall number
    socket: int
    denied: tuple[int, ...]  # connect, bind, listen, accept, accept4, io_uring_*


_ARCHES = {
    "x86_64": _Arch(0xC000003E, 317, 41, (42, 49, 50, 43, 288, 425, 426, 427)),
    "aarch64": _Arch(0xC00000B7, 277, 198, (203, 200, 201, 202, 242, 425, 426, 427)),
}


@dataclass(frozen=True)
class Confinement:
    """What :func:`confine` achieved in this process (reported by ``/-/health``)."""

    network: str  # "seccomp+netns", "seccomp", "netns" or "none"
    memory_limit_bytes: int | None
    cpu_limit_s: int | None


def _filter(arch: _Arch) -> bytes:
    """The BPF program: deny non-Unix sockets and the server-side socket calls."""
    deny = _RET_ERRNO | errno.EACCES
    program: list[tuple[int, int, int, int]] = []

    def op(code: int, jt: int, jf: int, k: int) -> None:
        program.append((code, jt, jf, k))

    op(_LD_W_ABS, 0, 0, 4)  # seccomp_data.arch
    op(_JEQ_K, 1, 0, arch.audit)
    op(_RET_K, 0, 0, deny)  # another ABI (x32, 32-bit compat): nothing is allowed
    op(_LD_W_ABS, 0, 0, 0)  # seccomp_data.nr
    op(_JGE_K, 0, 1, 0x40000000)  # the x32 syscall bit
    op(_RET_K, 0, 0, deny)
    for number in arch.denied:
        op(_JEQ_K, 0, 1, number)
        op(_RET_K, 0, 0, deny)
    op(_JEQ_K, 1, 0, arch.socket)
    op(_RET_K, 0, 0, _RET_ALLOW)  # not socket(): allowed
    op(_LD_W_ABS, 0, 0, 16)  # socket(domain, …): the low word of args[0]
    op(_JEQ_K, 0, 1, _AF_UNIX)
    op(_RET_K, 0, 0, _RET_ALLOW)
    op(_RET_K, 0, 0, deny)
    return b"".join(struct.pack("HBBI", *ins) for ins in program)


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library, for the system calls Python does not wrap (prctl, unshare, seccomp)."""
    return ctypes.CDLL(None, use_errno=True)


def _install_seccomp() -> bool:
    arch = _ARCHES.get(platform.machine())
    if arch is None or not os.path.exists("/proc/self/status"):
        return False
    lib = libc()
    if lib.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    code = _filter(arch)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HL", len(code) // 8, ctypes.addressof(buffer))
    prog = ctypes.create_string_buffer(fprog, len(fprog))
    lib.syscall.restype = ctypes.c_long
    result = lib.syscall(ctypes.c_long(arch.seccomp), ctypes.c_long(_SECCOMP_SET_MODE_FILTER),
                         ctypes.c_long(_SECCOMP_FILTER_FLAG_TSYNC),
                         ctypes.c_void_p(ctypes.addressof(prog)))
    return bool(result == 0)


def _enter_network_namespace() -> bool:
    """A new, empty network namespace (inside a new user namespace unless root)."""
    if not os.path.exists("/proc/self/ns/net"):
        return False
    flags = _CLONE_NEWNET if os.geteuid() == 0 else _CLONE_NEWUSER | _CLONE_NEWNET
    return bool(libc().unshare(flags) == 0)


def address_space_bytes() -> int:
    """This process's virtual memory size now (VmSize), or 0 when it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def limit_resources(memory_mb: int | None, cpu_s: int | None) -> tuple[int | None, int | None]:
    """Set RLIMIT_AS to the current size + ``memory_mb`` and RLIMIT_CPU to ``cpu_s``."""
    memory = None
    if memory_mb:
        memory = address_space_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if cpu_s:
        used = int(sum(os.times()[:2]))
        resource.setrlimit(resource.RLIMIT_CPU, (used + cpu_s, used + cpu_s + 5))
    return memory, cpu_s


def first_to_go() -> bool:
    """Make this process (and every child it forks later) the kernel's first choice when
    memory runs out (``oom_score_adj`` 1000; raising it needs no privilege). False when the
    system has no such setting."""
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as adjust:
            adjust.write("1000")
    except OSError:
        return False
    return True


def confine(allow_network: bool = False) -> str:
    """Cut this process (and every child it forks later) off the network, as far as the
    system allows, and make it the first to go when memory runs out (:func:`first_to_go`);
    returns which network layers hold (see :class:`Confinement`), or "allowed" for the one
    explicitly permitted kind of worker (``allow_network``)."""
    first_to_go()
    if allow_network:
        return "allowed"
    netns = _enter_network_namespace()
    seccomp = _install_seccomp()
    layers = [name for name, ok in (("seccomp", seccomp), ("netns", netns)) if ok]
    return "+".join(layers) or "none"
