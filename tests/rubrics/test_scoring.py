"""The scoring function: report + ratings -> scorecard, pure and re-computable."""

import json
import tomllib

import pytest

from rubrics import Scorecard, parse_rubric, rescore, score

from .test_schema import GOOD

RUBRIC = parse_rubric(tomllib.loads(GOOD))


def report(*outcomes: str, criterion: str = "error-handling") -> dict:
    return {
        "tests": [
            {
                "id": f"test_faults.py::test_{i}",
                "title": f"survives fault {i}",
                "criterion": criterion,
                "outcome": outcome,
                "duration": 0.1,
                "output": "",
            }
            for i, outcome in enumerate(outcomes)
        ],
        "summary": {},
    }


def test_all_tests_passed_and_rated_gives_100():
    card = score(RUBRIC, report("passed", "passed"), {"communication": 3})
    assert card.overall == 100.0
    assert card.complete and card.unrated == []


def test_partial_credit_is_proportional_and_level_is_floored():
    card = score(RUBRIC, report("passed", "passed", "failed", "passed"))
    crit = card.criterion("error-handling")
    assert crit.score == 2.25 and crit.max == 3
    assert crit.level == 2 and crit.level_text == "most"
    assert crit.note == "3 of 4 tests passed"


def test_one_failure_always_loses_a_level():
    crit = score(RUBRIC, report(*(["passed"] * 19 + ["failed"]))).criterion("error-handling")
    assert crit.level == 2


def test_unrated_criteria_are_listed_and_excluded_from_overall():
    card = score(RUBRIC, report("passed", "failed"))
    assert card.unrated == ["communication"]
    assert not card.complete
    assert card.overall == 50.0  # only error-handling is scored so far


def test_overall_is_weighted():
    card = score(RUBRIC, report("passed", "failed"), {"communication": 3})
    # (2 * 0.5 + 1 * 1.0) / 3
    assert card.overall == pytest.approx(66.7)


def test_evidence_speaks_plain_words():
    card = score(RUBRIC, report("passed", "error", "skipped"))
    texts = [e.text for e in card.criterion("error-handling").evidence]
    assert texts == [
        "survives fault 0: yes",
        "survives fault 1: no (error)",
        "survives fault 2: not run",
    ]
    assert card.criterion("error-handling").note == "1 of 2 tests passed"  # skipped does not count


def test_no_evidence_leaves_criterion_unscored():
    card = score(RUBRIC, report("passed", criterion="something-else"))
    assert "error-handling" in card.unrated
    assert card.unmatched_tests == ["test_faults.py::test_0"]
    assert score(RUBRIC, None).criterion("error-handling").note == "no test report"


def test_all_or_nothing_criterion():
    text = GOOD.replace('source = "automated"', 'source = "automated"\npartial_credit = false')
    strict = parse_rubric(tomllib.loads(text))
    assert score(strict, report("passed", "failed")).criterion("error-handling").score == 0.0
    assert score(strict, report("passed", "passed")).criterion("error-handling").score == 3.0


@pytest.mark.parametrize(
    "ratings, message",
    [
        ({"nope": 1}, "unknown criterion 'nope'"),
        ({"error-handling": 2}, "'error-handling' is automated"),
        ({"communication": 4}, "integer 0..3"),
        ({"communication": True}, "integer 0..3"),
    ],
)
def test_bad_ratings_are_refused(ratings, message):
    with pytest.raises(ValueError, match=message):
        score(RUBRIC, report("passed"), ratings)


def test_scorecard_round_trips_through_json():
    card = score(RUBRIC, report("passed", "failed"), {"communication": 2})
    again = Scorecard.from_dict(json.loads(json.dumps(card.to_dict())))
    assert again == card
    assert again.to_dict()["criteria"][0]["evidence"][1]["text"] == "survives fault 1: no"


def test_rescore_uses_the_rubric_the_card_was_scored_with():
    card = score(RUBRIC, report("passed", "failed"))
    stored = json.loads(json.dumps(card.to_dict()))
    # Later the rubric changes (communication weighs more); the stored card must not.
    later = rescore(Scorecard.from_dict(stored), {"communication": 3})
    assert later.rubric_version == card.rubric_version
    assert later.overall == pytest.approx(66.7)
    assert later.complete


def test_score_is_pure():
    rep = report("passed", "failed")
    before = json.dumps(rep, sort_keys=True)
    first = score(RUBRIC, rep, {"communication": 1})
    assert json.dumps(rep, sort_keys=True) == before
    assert score(RUBRIC, rep, {"communication": 1}) == first


# -- levels from evidence: each test declares the level its failure caps the criterion at --


def capped(*tests: tuple[str, int | None], critical: str | None = None) -> dict:
    """A report whose tests declare caps: (outcome, fails_to) pairs."""
    rep = report(*(outcome for outcome, _ in tests))
    for entry, (_, cap) in zip(rep["tests"], tests, strict=True):
        entry["fails_to"] = cap
    if critical:
        rep["tests"][-1]["critical"] = critical
    return rep


def test_one_failure_that_means_level_0_gives_level_0_however_many_pass():
    crit = score(RUBRIC, capped(*[("passed", 2)] * 9, ("failed", 0))).criterion("error-handling")
    assert crit.level == 0 and crit.score == 0.0
    assert crit.level_text == "crashes"
    assert crit.capped_by == ["test_faults.py::test_9"]
    assert "level 0 because it failed: survives fault 9" in crit.note


def test_the_lowest_cap_among_failed_tests_sets_the_level():
    rep = capped(("failed", 2), ("passed", 0), ("error", 1), ("failed", 2))
    crit = score(RUBRIC, rep).criterion("error-handling")
    assert (crit.level, crit.score, crit.level_text) == (1, 1.0, "some")
    assert crit.capped_by == ["test_faults.py::test_2"]


def test_no_failure_reaches_the_top_of_the_scale():
    crit = score(RUBRIC, capped(("passed", 0), ("skipped", 0))).criterion("error-handling")
    assert (crit.level, crit.score, crit.capped_by) == (3, 3.0, [])


def test_a_failure_without_a_declared_cap_costs_one_level():
    crit = score(RUBRIC, capped(("passed", 0), ("failed", None))).criterion("error-handling")
    assert crit.level == 2


def test_all_or_nothing_criterion_with_caps():
    text = GOOD.replace('source = "automated"', 'source = "automated"\npartial_credit = false')
    strict = parse_rubric(tomllib.loads(text))
    assert (
        score(strict, capped(("passed", 2), ("failed", 2))).criterion("error-handling").level == 0
    )


CAPPED_RUBRIC = parse_rubric(
    tomllib.loads(GOOD.replace("scale = 3", "scale = 3\ncritical_cap = 60"))
)


def test_a_critical_failure_caps_the_overall_and_is_listed_in_plain_words():
    rep = capped(("passed", 2), ("failed", 2), critical="Renders model text as HTML")
    card = score(CAPPED_RUBRIC, rep, {"communication": 3})
    assert card.uncapped_overall == pytest.approx(77.8)  # (2 * 2/3 + 1) / 3
    assert card.overall == 60.0
    assert [(f.text, f.test_id) for f in card.critical] == [
        ("Renders model text as HTML", "test_faults.py::test_1")
    ]


def test_a_passing_critical_test_changes_nothing():
    rep = capped(("passed", 2), ("passed", 0), critical="Renders model text as HTML")
    card = score(CAPPED_RUBRIC, rep, {"communication": 3})
    assert card.overall == 100.0 and card.critical == []


def test_a_critical_criterion_makes_every_failure_of_it_critical():
    text = GOOD.replace("scale = 3", "scale = 3\ncritical_cap = 50").replace(
        'source = "automated"', 'source = "automated"\ncritical = "Harms other users\' work"'
    )
    card = score(parse_rubric(tomllib.loads(text)), capped(("failed", 2), ("passed", 2)))
    assert card.overall == 50.0 and [f.text for f in card.critical] == ["Harms other users' work"]


def test_critical_fields_are_refused_where_they_mean_nothing():
    text = GOOD.replace('source = "interviewer"', 'source = "interviewer"\ncritical = "x"')
    text = text.replace("scale = 3", "scale = 3\ncritical_cap = 120")
    with pytest.raises(ValueError) as info:
        parse_rubric(tomllib.loads(text), "demo/rubric.toml")
    found = str(info.value)
    assert "rubric.critical_cap: is 120 (expected a number from 0 to 100)" in found
    assert "criteria[communication].critical: is set on an interviewer-rated criterion" in found


def test_new_scorecards_round_trip_with_their_version():
    card = score(CAPPED_RUBRIC, capped(("failed", 0), critical="x"), {"communication": 1})
    assert card.version == 2
    assert Scorecard.from_dict(json.loads(json.dumps(card.to_dict()))) == card


# A scorecard as stored before levels came from caps (fields as they were then).
OLD_CARD = {
    "rubric_id": "demo",
    "rubric_version": RUBRIC.version,
    "overall": 50.0,
    "complete": False,
    "criteria": [
        {
            "id": "error-handling",
            "title": "Error handling",
            "source": "automated",
            "weight": 2.0,
            "max": 3,
            "score": 1.5,
            "level": 1,
            "level_text": "some",
            "evidence": [
                {"test_id": "a", "title": "A", "outcome": "passed", "text": "A: yes"},
                {"test_id": "b", "title": "B", "outcome": "failed", "text": "B: no"},
            ],
            "note": "1 of 2 tests passed",
        },
        {
            "id": "communication",
            "title": "Communication",
            "source": "interviewer",
            "weight": 1.0,
            "max": 3,
            "score": None,
            "level": None,
            "level_text": None,
            "evidence": [],
            "note": "waiting for the interviewer's rating",
        },
    ],
    "unrated": ["communication"],
    "tests": [],
    "unmatched_tests": [],
    "ratings": {},
    "rubric": {
        "id": "demo",
        "title": "Demo",
        "scale": 3,
        "criteria": [
            {k: v for k, v in c.items() if k != "critical"} for c in RUBRIC.to_dict()["criteria"]
        ],
    },
    "report": {
        "tests": [
            {"id": "a", "title": "A", "criterion": "error-handling", "outcome": "passed"},
            {"id": "b", "title": "B", "criterion": "error-handling", "outcome": "failed"},
        ]
    },
}


def test_an_old_stored_scorecard_still_loads_and_rescores_as_it_was_scored():
    old = Scorecard.from_dict(OLD_CARD)
    assert old.version == 1 and old.critical == [] and old.criteria[0].capped_by == []
    later = rescore(old, {"communication": 3})
    # Its report declares no caps: the criterion keeps its proportional score.
    assert later.criterion("error-handling").score == 1.5
    assert later.rubric_version == OLD_CARD["rubric_version"]
    assert later.overall == pytest.approx(66.7)


def test_a_critical_test_in_error_costs_its_level_but_is_not_a_critical_fault():
    rep = capped(("passed", 2), ("error", 0), critical="Renders model text as HTML")
    card = score(CAPPED_RUBRIC, rep, {"communication": 3})
    assert card.criterion("error-handling").level == 0
    assert card.critical == [] and card.overall == card.uncapped_overall
