"""Running the candidate's own scripts from the hidden suite, confined by Landlock.

The hidden suite (the tester party) calls the candidate's browser script in node
for frontend checks. That is candidate code running as the tester, beside the
hidden tests and the report directory: unconfined it could read the tests, write
report.json, or kill pytest and print results of its own. So every such script
starts through `run_confined`, which makes the child, before it executes:

- able to read (not write) only the paths it is given plus the runtime (/usr,
  /etc, the venv) and to write /dev/null: not the hidden tests, not the report,
  not /proc or /tmp;
- unable to open a TCP connection or bind a port (Landlock ABI 4+), to signal
  or reach the abstract sockets of anything outside itself (ABI 6+); Landlock's
  ptrace rule, in every ABI, keeps it out of other processes' /proc files.

Landlock needs no privilege and works in both sandbox backends. Where the kernel
lacks it the check fails, saying why, rather than run the script unconfined.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # the same on every arch
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
# Every filesystem right the ABI knows is handled (so denied unless a rule allows it).
_FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

# What node needs to start; the venv is where the sandbox's python lives.
RUNTIME_PATHS = ("/usr", "/etc", "/opt/faultline-venv", "/lib", "/lib64", "/bin", "/dev/urandom")
WRITABLE_DEVICES = ("/dev/null",)  # where a child's unwanted output goes

_libc = ctypes.CDLL(None, use_errno=True)


class ConfinementUnavailable(RuntimeError):
    """This kernel cannot confine the script: the check must not run it."""


def _syscall(number: int, *args: object) -> int:
    result = int(_libc.syscall(number, *args))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI, 0 where there is none (or it is disabled)."""
    try:
        return _syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    except OSError:
        return 0


def _ruleset(read_only: Sequence[Path], abi: int) -> int:
    """A Landlock ruleset fd: read and execute beneath `read_only`, nothing else."""
    fs = _FS_RIGHTS_BY_ABI[max(k for k in _FS_RIGHTS_BY_ABI if k <= abi)]
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("=QQQ", fs, net, scoped)[: 24 if abi >= 6 else 16 if abi >= 4 else 8]
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.c_char_p(attr), len(attr), 0)
    try:
        writable = set(map(Path, WRITABLE_DEVICES))
        for path in {*map(Path, RUNTIME_PATHS), *read_only, *writable}:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                is_dir = os.path.isdir(f"/proc/self/fd/{fd}")
                allowed = _EXECUTE | _READ_FILE | (_READ_DIR if is_dir else 0)
                allowed |= _WRITE_FILE if path in writable else 0
                rule = struct.pack("=Qi", allowed, fd)
                _syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.c_char_p(rule), 0)
            finally:
                os.close(fd)
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset


def run_confined(
    argv: Sequence[str],
    *,
    read_only: Sequence[Path],
    input: bytes,
    timeout: float,
) -> subprocess.CompletedProcess[bytes]:
    """subprocess.run(argv) with the child confined as the module docstring says."""
    abi = abi_version()
    if abi < 1:
        raise ConfinementUnavailable(
            "Landlock is not available in this kernel, so the candidate's script cannot be "
            "confined and is not run (Linux 5.13 or later with Landlock enabled is needed)"
        )
    program = shutil.which(argv[0])
    if program is None:
        raise FileNotFoundError(f"{argv[0]} is not on PATH")
    ruleset = _ruleset(read_only, abi)
    try:
        # A tiny interpreter applies the ruleset and becomes the script's process:
        # preexec_fn would do it in a fork of this process, unsafe with its threads.
        return subprocess.run(
            [sys.executable, "-I", "-S", "-c", _RESTRICT_AND_EXEC, str(ruleset), program, *argv],
            input=input,
            capture_output=True,
            timeout=timeout,
            check=False,
            pass_fds=(ruleset,),
            cwd="/",
        )
    finally:
        os.close(ruleset)


_RESTRICT_AND_EXEC = f"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = int(sys.argv[1])
if libc.prctl({_PR_SET_NO_NEW_PRIVS}, 1, 0, 0, 0) or libc.syscall({_SYS_RESTRICT_SELF}, fd, 0):
    sys.exit("faultkit.confine: cannot confine the script: " + os.strerror(ctypes.get_errno()))
os.close(fd)
os.execv(sys.argv[2], sys.argv[3:])
"""
