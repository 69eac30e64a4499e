"""Correct designs that differ from the reference score 100 (see designs/README.md).

A hidden test stricter than its task text fails a design here, not a candidate later.
Slow: each design is one grading in the real sandbox.
"""

from pathlib import Path

import pytest

from exercises import catalog
from exercises.catalog import read_tree
from exercises.grading import grade_files
from tests.requirements import require_bwrap

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DESIGNS = Path(__file__).parent / "designs"


def designs() -> list[tuple[str, str]]:
    return sorted(
        (folder.parent.name, folder.name)
        for folder in DESIGNS.glob("*/*")
        if folder.is_dir() and not folder.name.startswith((".", "_"))
    )


def test_every_exercise_has_three_designs_of_its_own():
    per_exercise = {slug: 0 for slug in (e.slug for e in catalog.load_all())}
    for slug, _ in designs():
        per_exercise[slug] += 1
    assert all(n >= 3 for n in per_exercise.values()), per_exercise


@pytest.mark.parametrize(("slug", "design"), designs(), ids=lambda v: str(v))
def test_a_correct_design_scores_100(slug, design):
    require_bwrap()
    exercise = catalog.find(slug)
    files = {**exercise.solution_files(), **read_tree(DESIGNS / slug / design)}
    card = grade_files(exercise, files, backend="bwrap").scorecard
    failed = [t["id"] for t in card.tests if t["outcome"] not in {"passed", "skipped"}]
    assert not failed, f"{slug}/{design} fails {failed}: {card.report.get('tests')}"
    assert card.critical == []
    for crit in card.criteria:
        if crit.source == "automated":
            assert crit.level == crit.max, (crit.id, crit.note)
    assert card.overall == 100.0
