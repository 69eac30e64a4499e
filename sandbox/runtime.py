"""Preparing the bwrap runtime: a venv made from the system Python with the
exercise runtime packages, plus the few /etc files a sandbox sees.

    .venv/bin/python -m sandbox prepare-runtime

is idempotent: it does nothing when the runtime matches the requirements file
and the interpreter (a stamp holds their hash), and builds a new one next to the
old one and swaps it in otherwise, so a half-built runtime is never used.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sandbox.config import APP_UID, PREPARE_RUNTIME_CMD, REPO_ROOT, TESTER_UID, VENV_DIR
from sandbox.spec import SandboxError

SYSTEM_PYTHON = Path("/usr/bin/python3")
REQUIREMENTS = REPO_ROOT / "sandbox" / "images" / "runtime-requirements.txt"
LAUNCHER_SOURCE = REPO_ROOT / "sandbox" / "launcher.c"
WARM_TESTS = REPO_ROOT / "sandbox" / "images" / "test_warm_pytest_cache.py"
LAUNCHER = Path("bin") / "faultline-launch"  # inside the runtime dir, never bound into a sandbox
STAMP = "stamp"
# Bump when the layout below changes, so prepare-runtime rebuilds.
LAYOUT = 4

ETC_FILES = {
    "passwd": (
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"app:x:{APP_UID}:{APP_UID}:candidate app:/tmp:/usr/sbin/nologin\n"
        f"tester:x:{TESTER_UID}:{TESTER_UID}:tester:/tmp:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    ),
    "group": f"root:x:0:\napp:x:{APP_UID}:\ntester:x:{TESTER_UID}:\nnogroup:x:65534:\n",
    "hosts": "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
    "resolv.conf": "",
}


def _python_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def wanted_stamp(python: Path = SYSTEM_PYTHON) -> str:
    digest = hashlib.sha256()
    digest.update(REQUIREMENTS.read_bytes())
    digest.update(LAUNCHER_SOURCE.read_bytes())
    digest.update(WARM_TESTS.read_bytes())
    # A compiler installed later is a reason to rebuild: the launcher saves ~2 ms a run.
    digest.update(str(_compiler() is not None).encode())
    digest.update(_python_version(python).encode())
    digest.update(repr((LAYOUT, sorted(ETC_FILES.items()))).encode())
    return digest.hexdigest()[:16]


def runtime_problem(runtime_dir: Path) -> str | None:
    """Why the runtime at `runtime_dir` cannot be used, or None. Cheap: no subprocess."""
    venv_python = runtime_dir / "venv" / "bin" / "python3"
    if not (runtime_dir / STAMP).is_file() or not os.path.lexists(venv_python):
        return f"bwrap runtime missing at {runtime_dir}: run `{PREPARE_RUNTIME_CMD}`"
    return None


def _compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def launcher_path(runtime_dir: Path) -> Path | None:
    """The compiled launcher of this runtime, or None (the backend then uses sh + setpriv)."""
    path = runtime_dir / LAUNCHER
    return path if os.access(path, os.X_OK) else None


def build_launcher(target: Path) -> str | None:
    """Compile sandbox/launcher.c to `target`; returns why it could not, or None.

    Static when the C library allows it (no dynamic loader work at each exec).
    """
    compiler = _compiler()
    if compiler is None:
        return "no C compiler (apt-get install -y gcc libc6-dev)"
    target.parent.mkdir(parents=True, exist_ok=True)
    last_error = "compiler failed"
    for static in (["-static"], []):
        done = subprocess.run(
            [compiler, *static, "-O2", "-Wall", "-o", str(target), str(LAUNCHER_SOURCE)],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return None
        last_error = (done.stderr.strip().splitlines() or [last_error])[-1]
    return f"cannot compile {LAUNCHER_SOURCE.name}: {last_error}"


def _fix_scripts(bin_dir: Path, host_prefix: str) -> None:
    """Point console scripts at the venv's path *inside* the sandbox."""
    for script in bin_dir.iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if data.startswith(b"#!") and host_prefix.encode() in data.split(b"\n", 1)[0]:
            first, _, rest = data.partition(b"\n")
            script.write_bytes(
                first.replace(host_prefix.encode(), VENV_DIR.encode()) + b"\n" + rest
            )


def _warm_pytest_cache(venv: Path) -> None:
    """Fill pytest's assertion-rewrite cache of the plugin packages (see WARM_TESTS)."""
    with tempfile.TemporaryDirectory(prefix="faultline-warm-") as tmp:
        shutil.copy(WARM_TESTS, tmp)
        # No PYTHONDONTWRITEBYTECODE here: writing the cache is the point.
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8"}
        done = subprocess.run(
            [str(venv / "bin" / "python3"), "-m", "pytest", "-q", "-p", "no:cacheprovider", tmp],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SandboxError(f"the runtime's pytest does not work:\n{done.stdout}{done.stderr}")


def prepare_runtime(runtime_dir: Path, *, force: bool = False, quiet: bool = False) -> bool:
    """Build the runtime if needed. Returns True when it built, False when current."""
    if not SYSTEM_PYTHON.exists():
        raise SandboxError(f"{SYSTEM_PYTHON} missing: apt-get install -y python3 python3-venv")
    runtime_dir = runtime_dir.resolve()
    stamp = wanted_stamp()
    stamp_file = runtime_dir / STAMP
    if not force and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        if not quiet:
            print(f"bwrap runtime up to date at {runtime_dir}")
        return False
    parent = runtime_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    build = parent / f".{runtime_dir.name}.build-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    venv = build / "venv"
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
    subprocess.run(
        [*pip, "--quiet", "--disable-pip-version-check", "--no-warn-script-location",
         "-r", str(REQUIREMENTS)],
        check=True,
    )  # fmt: skip
    # The venv is bound at VENV_DIR inside; byte-compile now, since the sandbox
    # can never write __pycache__ there.
    subprocess.run(
        [str(SYSTEM_PYTHON), "-m", "compileall", "-q", "-j", "0", str(venv / "lib")],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    _warm_pytest_cache(venv)
    _fix_scripts(venv / "bin", str(venv))
    # The venv's path on the host ends up inside pyvenv.cfg only as "command";
    # it is harmless, but keep the sandbox view tidy.
    cfg = venv / "pyvenv.cfg"
    cfg.write_text(
        "".join(
            line + "\n" for line in cfg.read_text().splitlines() if not line.startswith("command")
        )
    )
    launcher_problem = build_launcher(build / LAUNCHER)
    if launcher_problem and not quiet:
        print(f"note: {launcher_problem}; bwrap parties start through sh + setpriv instead")
    etc = build / "etc"
    etc.mkdir()
    for name, content in ETC_FILES.items():
        (etc / name).write_text(content)
    # /etc is bound as one directory (every bind mount costs run time); the
    # host's loader cache is bound over this placeholder.
    (etc / "ld.so.cache").write_bytes(b"")
    (etc / "localtime").symlink_to("/usr/share/zoneinfo/Etc/UTC")
    for path in [build, *build.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
    (build / STAMP).write_text(stamp + "\n")
    old = parent / f".{runtime_dir.name}.old-{os.getpid()}"
    if runtime_dir.exists():
        runtime_dir.rename(old)
    build.rename(runtime_dir)
    shutil.rmtree(old, ignore_errors=True)
    if not quiet:
        print(f"bwrap runtime prepared at {runtime_dir}")
    return True
