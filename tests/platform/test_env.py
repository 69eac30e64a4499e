"""Configuration errors name the variable and what was expected."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faultline.env import ConfigError, env_bool, env_choice, env_int, env_str, env_url

ROOT = Path(__file__).resolve().parents[2]


def test_bool_accepts_the_usual_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, value in [("1", True), ("yes", True), ("off", False), ("", False)]:
        monkeypatch.setenv("X_FLAG", raw)
        assert env_bool("X_FLAG") is value


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ConfigError, match=r"X_FLAG='maybe': expected a boolean"):
        env_bool("X_FLAG")
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ConfigError, match=r"X_NUM='ten': expected an integer"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_BACKEND", "podman")
    with pytest.raises(ConfigError, match=r"expected one of bwrap, docker"):
        env_choice("X_BACKEND", ("bwrap", "docker"), "bwrap")
    monkeypatch.setenv("X_DB", "mysql://root:hunter2@db/x")
    with pytest.raises(ConfigError) as err:
        env_url("X_DB", ("postgres",))
    assert "hunter2" not in str(err.value), "the password must not be printed"


def test_secret_file_wins_over_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "key"
    secret.write_text("from-file\n")
    monkeypatch.setenv("X_SECRET", "from-env")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_str("X_SECRET") == "from-file"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="X_SECRET_FILE"):
        env_str("X_SECRET")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    clean.pop("CELERY_BROKER_URL", None)
    clean.pop("SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
    )


def test_production_without_secret_key_stops_in_one_line() -> None:
    result = _manage("check", DATABASE_URL="postgres://postgres@127.0.0.1:5432/x")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "SECRET_KEY" in result.stderr


def test_bad_value_stops_start_up_in_one_line() -> None:
    result = _manage("check", SANDBOX_BACKEND="podman")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "faultline: configuration error: SANDBOX_BACKEND='podman': expected one of bwrap, docker"
    )


def test_unreachable_database_is_named_at_start_up() -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    result = _manage(
        "preflight",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/faultline",
        SECRET_KEY="x",
    )
    assert result.returncode != 0
    assert "database unreachable (DATABASE_URL)" in result.stderr
    assert "Traceback" not in result.stderr
