"""A seccomp filter for bwrap sandboxes: system calls no exercise needs, which are
kernel attack surface or would undo the sandbox, fail with EPERM.

The list follows Docker's default profile for the calls that matter (io_uring,
userfaultfd, bpf, perf events, the kernel keyring, modules, kexec, mounts,
file handles), so both backends refuse the same things. It also refuses
ptrace and process_vm_*, which Docker allows: no exercise debugs a process, and
with them a party could stop or rewrite its own sandbox's init (the Docker
backend's backstop `timeout`). Namespaces and caps already stop most of them;
the filter is the second wall. bwrap installs it
(--seccomp FD) just before it executes the party's command, and it stays for
every process the command starts.

The program is classic BPF, built here for the two architectures Faultline
runs on; elsewhere `program()` returns None and doctor says so.

Sockets: only the unix, IPv4, IPv6 and netlink families can be made; any other
fails with EAFNOSUPPORT, as on a kernel built without it. Network namespaces
confine those four; AF_VSOCK, which both engines otherwise allow, reaches the
hypervisor's host from any namespace (a way out of "no network" on a VM), and
the rest are rarely used kernel code that a socket() call may even load.

Docker applies its own default profile, which (engine 28 here) still lets
io_uring through; the docker backend therefore has every command start through
sandbox/docker_entry.py, which stacks this same filter inside the container.
"""

from __future__ import annotations

import errno
import functools
import os
import platform
import struct

# Numbers differ between architectures, except for the calls added since 5.1
# (io_uring_*, the new mount API), which share one table.
_COMMON = {
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
}
_SYSCALLS = {
    "x86_64": {
        "userfaultfd": 323,
        "bpf": 321,
        "perf_event_open": 298,
        "keyctl": 250,
        "add_key": 248,
        "request_key": 249,
        "kexec_load": 246,
        "kexec_file_load": 320,
        "init_module": 175,
        "finit_module": 313,
        "delete_module": 176,
        "reboot": 169,
        "swapon": 167,
        "swapoff": 168,
        "acct": 163,
        "mount": 165,
        "umount2": 166,
        "pivot_root": 155,
        "unshare": 272,
        "setns": 308,
        "name_to_handle_at": 303,
        "open_by_handle_at": 304,
        "syslog": 103,
        "ptrace": 101,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        **_COMMON,
    },
    "aarch64": {
        "userfaultfd": 282,
        "bpf": 280,
        "perf_event_open": 241,
        "keyctl": 219,
        "add_key": 217,
        "request_key": 218,
        "kexec_load": 104,
        "kexec_file_load": 294,
        "init_module": 105,
        "finit_module": 273,
        "delete_module": 106,
        "reboot": 142,
        "swapon": 224,
        "swapoff": 225,
        "acct": 89,
        "mount": 40,
        "umount2": 39,
        "pivot_root": 41,
        "unshare": 97,
        "setns": 268,
        "name_to_handle_at": 264,
        "open_by_handle_at": 265,
        "syslog": 116,
        "ptrace": 117,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        **_COMMON,
    },
}
# socket and socketpair: their first argument, the family, is checked (see above).
_SOCKET_CALLS = {"x86_64": (41, 53), "aarch64": (198, 199)}
_SOCKET_FAMILIES = {
    "AF_UNIX": 1,
    "AF_INET": 2,
    "AF_INET6": 10,
    "AF_NETLINK": 16,  # glibc's getaddrinfo and getifaddrs ask the kernel this way
}
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_BIT = 0x40000000  # x86_64's x32 ABI: other numbers, refused outright

# classic BPF, as seccomp reads it:
# struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }
_NR, _ARCH, _ARG0 = 0, 4, 16  # args[0]'s low half (little-endian); the family is an int
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000


def blocked(machine: str | None = None) -> dict[str, int]:
    """The refused calls of `machine` (default: this one), by name."""
    return dict(_SYSCALLS.get(machine or platform.machine(), {}))


def socket_families() -> dict[str, int]:
    """The socket families a sandboxed program may create, by name."""
    return dict(_SOCKET_FAMILIES)


def program(machine: str | None = None) -> bytes | None:
    """The filter for `machine` (default: this one), or None where there is none."""
    return _program(machine or platform.machine())


def _assemble(code: list[tuple[int, int, str | None, str | None] | str]) -> bytes:
    """Classic BPF from (op, k, jump-if-true label, jump-if-false label) and labels."""
    where: dict[str, int] = {}
    insns: list[tuple[int, int, str | None, str | None]] = []
    for item in code:
        if isinstance(item, str):
            where[item] = len(insns)
        else:
            insns.append(item)
    out = []
    for index, (op, k, jt, jf) in enumerate(insns):
        # Jumps are relative to the next instruction, forward only, at most 255.
        t = where[jt] - index - 1 if jt else 0
        f = where[jf] - index - 1 if jf else 0
        assert 0 <= t < 256 and 0 <= f < 256, "seccomp jump out of range"
        out.append(struct.pack("=HBBI", op, t, f, k))
    return b"".join(out)


@functools.cache  # every party start asks for it; it never changes
def _program(machine: str) -> bytes | None:
    numbers = sorted(set(_SYSCALLS.get(machine, {}).values()))
    if not numbers:
        return None
    code: list[tuple[int, int, str | None, str | None] | str] = [
        (_LD_W_ABS, _ARCH, None, None),
        # same architecture: go on; another (e.g. 32-bit calls on x86_64): ENOSYS
        (_JEQ_K, _AUDIT_ARCH[machine], "native", None),
        (_RET_K, _RET_ERRNO | errno.ENOSYS, None, None),
        "native",
        (_LD_W_ABS, _NR, None, None),
    ]
    if machine == "x86_64":
        code.append((_JGE_K, _X32_BIT, "refuse", None))
    code += [(_JEQ_K, nr, "socket", None) for nr in _SOCKET_CALLS[machine]]
    code += [(_JEQ_K, nr, "refuse", None) for nr in numbers]
    code += [
        (_RET_K, _RET_ALLOW, None, None),
        "refuse",
        (_RET_K, _RET_ERRNO | errno.EPERM, None, None),
        "socket",
        (_LD_W_ABS, _ARG0, None, None),
        *((_JEQ_K, family, "allow", None) for family in sorted(_SOCKET_FAMILIES.values())),
        (_RET_K, _RET_ERRNO | errno.EAFNOSUPPORT, None, None),
        "allow",
        (_RET_K, _RET_ALLOW, None, None),
    ]
    return _assemble(code)


def program_fd() -> int | None:
    """A pipe's read end holding this machine's filter, for `bwrap --seccomp FD`."""
    code = program()
    if code is None:
        return None
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, code)  # a few hundred bytes: fits the pipe buffer
    finally:
        os.close(write_end)
    return read_end
