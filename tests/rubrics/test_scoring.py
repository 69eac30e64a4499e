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
