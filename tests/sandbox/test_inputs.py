"""Bad input is refused with a clear error before anything runs."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

import sandbox
from sandbox.inputs import read_workspace
from sandbox.spec import InputRejected, Limits, Party, RunSpec

LIMITS = Limits(max_files=5, max_file_bytes=100, max_total_bytes=300, disk_mb=1)


def _run(
    files: dict,
    limits: Limits = LIMITS,
    command: object = ("true",),
    env: dict[str, str] | None = None,
) -> None:
    # The backend is never reached: no sandbox tool is needed for these tests.
    cmd = list(command) if isinstance(command, tuple) else command
    party = Party(command=cmd, files=files, env=env or {})  # type: ignore[arg-type]
    sandbox.run(RunSpec(app=party, limits=limits), "bwrap")


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"../escape.py": b""}, "'..'"),
        ({"a/../../b.py": b""}, "'..'"),
        ({"/etc/passwd": b""}, "absolute"),
        ({"": b""}, "empty"),
        ({"a//b.py": b""}, "''"),
        ({"./a.py": b""}, "'.'"),
        ({"bad\nname.py": b""}, "control character"),
        ({"name\udcff.py": b""}, "UTF-8"),
        ({"x" * 300: b""}, "too long"),
        ({"big.bin": b"x" * 101}, "too large"),
        ({f"f{i}": b"" for i in range(6)}, "too many files"),
        ({f"f{i}": b"x" * 80 for i in range(4)}, "in total"),
        ({"a": b"", "a/b": b""}, "under the file"),
        ({"a.py": "text, not bytes"}, "not bytes"),
    ],
)
def test_bad_files_are_refused(files: dict, reason: str) -> None:
    with pytest.raises(InputRejected, match=reason.replace("(", r"\(")):
        _run(files)


@pytest.mark.parametrize(
    ("party", "reason"),
    [
        ({"command": []}, "non-empty"),
        ({"command": "python3 main.py"}, "non-empty list"),
        ({"command": ["echo", "a\x00b"]}, "NUL"),
        ({"env": {"A=B": "x"}}, "invalid environment"),
        ({"env": {"A": "x\x00"}}, "invalid environment"),
        ({"command": ("python3", "-c", "x" * 200_000)}, "argument or variable is too long"),
        ({"env": {"BLOB": "x" * 200_000}}, "argument or variable is too long"),
        ({"command": ("echo", *["x" * 100_000] * 11)}, "command and environment too large"),
    ],
)
def test_bad_commands_and_environments_are_refused(party: dict, reason: str) -> None:
    with pytest.raises(InputRejected, match=reason):
        _run({}, command=party.get("command", ("true",)), env=party.get("env"))


@pytest.mark.parametrize(
    "limits",
    [
        replace(LIMITS, wall_seconds=0),
        replace(LIMITS, memory_mb=-1),
        replace(LIMITS, pids=1),
        replace(LIMITS, wall_seconds=float("nan")),
        replace(LIMITS, cpu_seconds=float("inf")),
        replace(LIMITS, wall_seconds=1e308),
        replace(LIMITS, output_bytes=2**70),
    ],
)
def test_nonsense_limits_are_refused(limits: Limits) -> None:
    with pytest.raises(InputRejected, match="limit"):
        _run({}, limits)


def test_tester_files_are_checked_too() -> None:
    spec = RunSpec(app=Party(command=["true"]), tester=Party(command=["true"], files={"../x": b""}))
    with pytest.raises(InputRejected, match=r"'\.\.'"):
        sandbox.run(spec, "docker")


def test_workspace_directory_is_read_with_its_subdirectories(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_bytes(b"x = 1\n")
    (tmp_path / "main.py").write_bytes(b"import pkg.mod\n")
    assert read_workspace(tmp_path, Limits()) == {
        "main.py": b"import pkg.mod\n",
        "pkg/mod.py": b"x = 1\n",
    }


def test_workspace_with_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_bytes(b"")
    (tmp_path / "secrets").symlink_to("/etc")
    with pytest.raises(InputRejected, match="symlink"):
        read_workspace(tmp_path, Limits())


def test_workspace_with_a_non_utf8_name_is_refused(tmp_path: Path) -> None:
    with open(os.path.join(os.fsencode(tmp_path), b"bad\xff.py"), "wb") as fh:
        fh.write(b"")
    with pytest.raises(InputRejected, match="UTF-8"):
        read_workspace(tmp_path, Limits())


def test_workspace_with_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InputRejected, match="not a regular file"):
        read_workspace(tmp_path, Limits())


def test_workspace_too_large_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * 200)
    with pytest.raises(InputRejected, match="too large"):
        read_workspace(tmp_path, LIMITS)


def test_a_workspace_that_is_missing_or_not_a_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match=r"'.*/absent'.*No such file"):
        read_workspace(tmp_path / "absent", Limits())
    (tmp_path / "file.py").write_bytes(b"")
    with pytest.raises(InputRejected, match="is not a directory"):
        read_workspace(tmp_path / "file.py", Limits())
