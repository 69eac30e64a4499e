"""Host directories of live sessions' bridges (the Docker backend binds one into a
session's sidecar; bwrap uses a folder of the sidecar's scratch tmpfs instead).

Each is named like a run's resources, `<harness pid>-<run id>`, so a sweep can tell a
dead harness's directory from a live one's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from sandbox.cgroups import owner_alive
from sandbox.spec import SandboxError

# sockaddr_un holds 108 bytes with the NUL: the longest socket path a session may use.
MAX_SOCKET_PATH = 107


def make(base: Path, name: str, uid: int) -> Path:
    """A fresh directory `base/name` that only root and `uid` can enter."""
    base.mkdir(mode=0o711, parents=True, exist_ok=True)
    st = os.lstat(base)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0:
        raise SandboxError(f"live directory {base} must be a directory owned by root")
    os.chmod(base, 0o711)  # noqa: S103 - traverse only, no listing
    path = base / name
    if len(str(path)) + len("/control.sock") > MAX_SOCKET_PATH:
        raise SandboxError(
            f"live directory {base} is too long for unix socket paths: "
            "set FAULTLINE_SANDBOX_LIVE_DIR to a shorter one"
        )
    path.mkdir(mode=0o700)
    os.chown(path, uid, uid)
    return path


def remove(path: Path) -> None:
    # rmtree never follows a link: what the sidecar made there stays inside it.
    shutil.rmtree(path, ignore_errors=True)


def sweep_stale(base: Path, dead_owner: int | None = None) -> int:
    if not base.is_dir():
        return 0
    removed = 0
    for child in base.iterdir():
        if not owner_alive(child.name, dead_owner):
            with contextlib.suppress(OSError):
                remove(child)
                removed += 1
    return removed


def list_dirs(base: Path, run_id: str) -> list[str]:
    if not base.is_dir():
        return []
    return [str(c) for c in base.iterdir() if run_id in c.name]
