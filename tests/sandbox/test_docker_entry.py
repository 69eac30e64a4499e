"""The Docker sandbox's first process (sandbox/docker_entry.py), run here on the host
as the container runs it: it takes the run on stdin, writes the files, becomes the
command, and gives up clearly when the request never comes or cannot be set up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sandbox.backends.docker_engine import ENTRY
from sandbox.docker_entry import SETUP_FAILED, encode_request

PROBE = (
    "import os, resource, sys\n"
    "print(sorted(os.environ.items()))\n"
    "print(resource.getrlimit(resource.RLIMIT_CPU))\n"
    "print(open('pkg/data.txt').read(), sys.stdin.read() == '')\n"
)


def entry(cwd: Path, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    argv = [sys.executable, *ENTRY[1:]]  # the host's interpreter for the image's python3
    return subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, timeout=30, env={})


def request(files: dict[str, bytes], argv: list[str]) -> bytes:
    return encode_request(
        files=files,
        argv=argv,
        # LANG: else the probe's own python3 adds LC_CTYPE (PEP 538 locale coercion).
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "ONLY": "this"},
        cpu=(7, 8),
        seccomp=None,
        backstop=60,
    )


def test_the_request_becomes_the_command_with_its_files_and_nothing_else(tmp_path: Path) -> None:
    files = {"pkg/data.txt": b"hello", "probe.py": PROBE.encode()}
    # Anything after the request is not the command's stdin: it reads /dev/null.
    done = entry(tmp_path, request(files, [sys.executable, "probe.py"]) + b"left over")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == [
        "[('LANG', 'C.UTF-8'), ('ONLY', 'this'), ('PATH', '/usr/bin:/bin')]",
        "(7, 8)",
        "hello True",
    ]
    assert (tmp_path / "pkg" / "data.txt").read_bytes() == b"hello"


def test_a_command_that_cannot_run_is_reported_like_a_shell_does(tmp_path: Path) -> None:
    done = entry(tmp_path, request({}, ["no-such-program"]))
    assert done.returncode == 127
    assert b"no-such-program" in done.stderr


def test_a_harness_gone_before_its_request_ends_the_sandbox(tmp_path: Path) -> None:
    whole = request({"a.txt": b"x" * 1000}, ["true"])
    for cut in (0, 10, len(whole) - 1):
        done = entry(tmp_path, whole[:cut])
        assert done.returncode == SETUP_FAILED
    assert not (tmp_path / "a.txt").exists()  # a file is written only once all of it came


def test_a_file_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    done = entry(tmp_path, request({"taken": b"x"}, ["true"]))
    assert done.returncode == SETUP_FAILED
    assert done.stderr.decode().startswith("faultline: cannot write taken: ")
