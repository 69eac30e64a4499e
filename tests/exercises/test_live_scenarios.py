"""An exercise's own live-preview scenarios (exercise.toml [[scenarios]]): loaded with
their descriptions, and a bad one refused naming what is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exercises import catalog
from rubrics import SchemaError

ROOT = Path(catalog.__file__).resolve().parent


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "cancellation"
    shutil.copytree(ROOT / "cancellation", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def add(folder: Path, toml: str) -> None:
    manifest = folder / "exercise.toml"
    manifest.write_text(manifest.read_text() + "\n" + toml)


def problems(folder: Path) -> list[str]:
    with pytest.raises(SchemaError) as info:
        catalog.load(folder)
    return [str(i) for i in info.value.issues]


def test_the_cancellation_exercise_declares_its_own_scenarios() -> None:
    scenarios = catalog.find("cancellation").scenarios
    assert [s.name for s in scenarios] == ["long-answer", "stalls-mid-answer"]
    assert scenarios[1].step == {"kind": "reply", "stall_after": 3}
    assert "three words" in scenarios[1].description


def test_a_scenario_with_a_faultkit_name_or_a_bad_step_is_refused(copy: Path) -> None:
    add(copy, '[[scenarios]]\nname = "slow"\ndescription = "x"\nstep = { kind = "reply" }\n')
    add(copy, '[[scenarios]]\nname = "odd"\ndescription = "x"\nstep = { kind = "explode" }\n')
    found = problems(copy)
    assert any("scenarios[2].name: 'slow' is faultkit's own" in p for p in found), found
    assert any("scenarios[3].step: step kind must be one of" in p for p in found), found


def test_a_scenario_needs_a_description_and_known_step_fields(copy: Path) -> None:
    add(copy, '[[scenarios]]\nname = "quiet"\ndescription = " "\nstep = { stal_after = 3 }\n')
    found = problems(copy)
    assert any("scenarios[2].description: is empty" in p for p in found), found
    assert any("scenarios[2].step: unknown step fields: ['stal_after']" in p for p in found)
