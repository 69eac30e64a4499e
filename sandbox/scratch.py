"""Size-limited tmpfs scratch space for the bwrap backend, and the few host-side
file operations on it.

Each party gets its own tmpfs (size and inode limits = the disk limit), mounted
under a root-only directory that is never visible inside a sandbox. The host
writes the party's files into it *before* the sandbox starts, and afterwards only
unmounts it: no host code walks a tree the sandbox could have written, except the
tester's report, which is opened without following links.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import stat
from pathlib import Path
from typing import Any

from sandbox.cgroups import owner_alive
from sandbox.spec import Files, SandboxError

_libc = ctypes.CDLL(None, use_errno=True)
MS_NOSUID = 0x2
MS_NODEV = 0x4
MNT_DETACH = 0x2


MS_REMOUNT = 0x20


def tmpfs_inodes(max_files: int) -> int:
    """Inodes of a scratch tmpfs for `max_files` files (directories need some too)."""
    return max(4096, 2 * max_files + 256)


def _mount_tmpfs(target: Path, size_bytes: int, inodes: int, flags: int = 0) -> None:
    opts = f"size={size_bytes},nr_inodes={inodes},mode=0711".encode()
    flags |= MS_NOSUID | MS_NODEV
    if _libc.mount(b"tmpfs", str(target).encode(), b"tmpfs", flags, opts) != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"cannot mount tmpfs on {target}: {os.strerror(err)}")


def _unmount(target: Path) -> None:
    if _libc.umount2(str(target).encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (22, 2):  # EINVAL: not a mount point; ENOENT: gone
            raise SandboxError(f"cannot unmount {target}: {os.strerror(err)}")


def prepare_base(base: Path) -> None:
    base.mkdir(mode=0o711, parents=True, exist_ok=True)
    st = os.lstat(base)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0:
        raise SandboxError(f"scratch directory {base} must be a directory owned by root")
    # Traversable, not listable: unprivileged bwrap must reach the bind sources.
    os.chmod(base, 0o711)  # noqa: S103 - traverse only, no listing; see above


class PartyScratch:
    """One tmpfs; subdirectories of it are bound into the party's sandbox."""

    def __init__(self, base: Path, name: str, *, disk_mb: int, max_files: int) -> None:
        self.root = base / name
        self.root.mkdir(mode=0o711)
        self.mounted = False
        self.disk_mb, self.max_files = disk_mb, max_files
        try:
            _mount_tmpfs(self.root, disk_mb * 1024 * 1024, tmpfs_inodes(max_files))
            self.mounted = True
        except SandboxError:
            self.root.rmdir()
            raise

    def resize(self, *, disk_mb: int, max_files: int) -> None:
        """New size and inode limits for a pre-started party (a remount; binds follow)."""
        if (disk_mb, max_files) != (self.disk_mb, self.max_files):
            _mount_tmpfs(self.root, disk_mb * 1024 * 1024, tmpfs_inodes(max_files), MS_REMOUNT)
            self.disk_mb, self.max_files = disk_mb, max_files

    def make_dir(self, name: str, uid: int, mode: int = 0o755) -> Path:
        path = self.root / name
        os.mkdir(path, mode)
        os.chown(path, uid, uid)
        os.chmod(path, mode)
        return path

    def write_files(self, directory: Path, files: Files, uid: int) -> None:
        """Write validated files (see inputs.check_files) into a fresh, empty directory."""
        for rel, content in files.items():
            parts = rel.split("/")
            current = directory
            for part in parts[:-1]:
                current = current / part
                if not current.is_dir():
                    os.mkdir(current, 0o755)
                    os.chown(current, uid, uid)
            target = current / parts[-1]
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                os.fchown(fd, uid, uid)
                view = memoryview(bytes(content))
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            except OSError as exc:
                raise SandboxError(f"cannot write {rel!r} into the scratch space: {exc}") from exc
            finally:
                os.close(fd)

    def remove(self) -> None:
        if self.mounted:
            _unmount(self.root)
            self.mounted = False
        with contextlib.suppress(FileNotFoundError):
            self.root.rmdir()


def read_report(directory: Path, max_bytes: int) -> tuple[dict[str, Any] | None, str | None]:
    """Read report.json the tester wrote, never following a link it may have planted."""
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        return None, f"report directory unreadable: {exc.strerror}"
    try:
        try:
            fd = os.open("report.json", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dfd)
        except FileNotFoundError:
            return None, "the tester wrote no report.json"
        except OSError as exc:
            return None, f"report.json refused: {exc.strerror} (not a regular file?)"
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                return None, "report.json is not a regular file"
            data = fh.read(max_bytes + 1)
    finally:
        os.close(dfd)
    return parse_report(data, max_bytes)


def parse_report(data: bytes, max_bytes: int) -> tuple[dict[str, Any] | None, str | None]:
    if len(data) > max_bytes:
        return None, f"report.json larger than {max_bytes} bytes"
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"report.json is not valid JSON: {exc}"
    if not isinstance(report, dict):
        return None, "report.json is not a JSON object"
    return report, None


def _mount_points() -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            fields = line.split()
            if len(fields) > 4:
                points.append(fields[4].encode().decode("unicode_escape"))
    return points


def sweep_stale(base: Path, dead_owner: int | None = None) -> int:
    """Unmount and remove scratch spaces whose harness process is gone."""
    if not base.is_dir():
        return 0
    removed = 0
    mounted = set(_mount_points())
    for child in base.iterdir():
        if owner_alive(child.name, dead_owner):
            continue
        with contextlib.suppress(OSError, SandboxError):
            if str(child) in mounted:
                _unmount(child)
            child.rmdir()
            removed += 1
    return removed


def list_scratch(base: Path, run_id: str) -> list[str]:
    if not base.is_dir():
        return []
    found = [str(c) for c in base.iterdir() if run_id in c.name]
    found += [p for p in _mount_points() if p.startswith(str(base)) and run_id in p]
    return found
