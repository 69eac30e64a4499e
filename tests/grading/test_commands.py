"""manage.py grade, through the real sandbox backends.

`manage.py check_exercise --all --repeat 10` is the promise every exercise makes: the
reference passes every hidden test every time, the starter fails, and every known-wrong
variant loses points where it is wrong. CI runs it on each backend in a step of its own
(`make check-exercises`); tests/exercises/test_sandbox_runs.py tests how it behaves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.requirements import require_bwrap, require_docker

pytestmark = [pytest.mark.slow]
EXERCISES = Path(settings.EXERCISES_DIR)


def _require(backend: str) -> None:
    require_bwrap() if backend == "bwrap" else require_docker()


def _grade(backend: str, files: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    call_command("grade", exercise="add-metadata", files=str(files), backend=backend, json=True)
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("backend", ["bwrap", "docker"])
def test_grade_prints_the_scorecard_as_json(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _require(backend)
    reference = _grade(backend, EXERCISES / "add-metadata" / "solution", capsys)
    assert reference["overall"] == 100.0
    assert reference["rubric_version"].startswith("sha256:")
    assert {"id", "score", "max", "evidence"} <= set(reference["criteria"][0])
    assert {"id", "outcome", "criterion", "duration"} <= set(reference["tests"][0])
    starter = _grade(backend, EXERCISES / "add-metadata" / "starter", capsys)
    assert starter["overall"] < 60


def test_grade_names_a_missing_directory(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        call_command("grade", exercise="add-metadata", files="/nonexistent/dir", json=True)
    assert exit_.value.code == 2
    assert "/nonexistent/dir" in capsys.readouterr().out
