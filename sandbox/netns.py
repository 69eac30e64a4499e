"""A fresh network namespace holding only an `up` loopback, as a file descriptor.

The two parties of a run join it (nsenter --net) so they share 127.0.0.1 and
nothing else. Holding the namespace by a descriptor, not by a process, keeps it
alive even when the app dies before the tester starts.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
import threading

from sandbox.spec import SandboxError

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH22x"


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        res = fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0))
        flags = struct.unpack(_IFREQ, res)[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | IFF_UP))


def new_loopback_netns() -> int:
    """Return an O_CLOEXEC descriptor of a new network namespace with lo up."""
    result: dict[str, object] = {}

    # unshare(CLONE_NEWNET) moves only the calling thread; a throwaway thread
    # keeps the rest of the process in the host namespace.
    def worker() -> None:
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
            _loopback_up()
            result["fd"] = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except Exception as exc:
            result["error"] = exc

    thread = threading.Thread(target=worker, name="faultline-netns")
    thread.start()
    thread.join()
    fd = result.get("fd")
    if not isinstance(fd, int):
        raise SandboxError(f"cannot create a network namespace: {result.get('error')}")
    return fd
