"""check_exercise's judgement of a suite's meaning and its spec map (no sandbox needed)."""

import dataclasses

from exercises import catalog
from exercises.catalog import Sentence
from exercises.check import spec_map, suite_meaning_problems

EXERCISE = catalog.find("add-metadata")


def declared(criterion, *caps, spec=("metadata.object",)):
    return [
        {"id": f"t.py::test_{i}", "criterion": criterion, "fails_to": cap, "spec": list(spec)}
        for i, cap in enumerate(caps)
    ]


def test_every_level_below_the_top_must_be_some_failure_s_cap():
    rubric = EXERCISE.rubric
    tests = [
        *declared("correctness", 0, 1, 2),
        *declared("data-modelling", 0, 2),
        *declared("error-handling", 0, 1, 2),
        *declared("frontend-robustness", 0, 1, 2),
    ]
    assert suite_meaning_problems(rubric, tests) == [
        "data-modelling level 1 ('Measured and reported values, but usage is made up when the "
        "provider reports none.') is unreachable: no hidden test fails to it"
    ]


def test_a_test_without_a_cap_or_with_one_off_the_scale_is_refused():
    tests = declared("correctness", 0, 1, 2, None, 3)
    found = [p for p in suite_meaning_problems(EXERCISE.rubric, tests) if "t.py" in p]
    assert found == [
        "t.py::test_3 declares no level for its failure: mark it @pytest.mark.criterion("
        '"correctness", fails_to=N), N in 0..2',
        "t.py::test_4 has fails_to=3: a failure must cap correctness at a level in 0..2",
    ]


def test_the_spec_map_fails_on_untested_sentences_and_unspecified_tests():
    exercise = dataclasses.replace(
        EXERCISE,
        spec=(
            Sentence("metadata.object", "metadata", "carries a metadata object"),
            Sentence("metadata.model", "metadata", "the model that answered"),
            Sentence("show.fields", "show-metadata", "show it", judged="interviewer"),
        ),
    )
    tests = [
        *declared("correctness", 0),
        {"id": "t.py::test_told_nothing", "criterion": "correctness", "spec": []},
        {"id": "t.py::test_typo", "criterion": "correctness", "spec": ["metadata.modle"]},
    ]
    lines, problems = spec_map(exercise, tests)
    assert lines[0] == (
        "spec map: 3 sentences, 3 tests, 1 sentences with no test, 1 judged by the interviewer"
    )
    assert "  show.fields: 'show it' <- (judged by the interviewer)" in lines
    assert problems == [
        "t.py::test_told_nothing enforces no sentence of the task texts: name the one it checks "
        'with @pytest.mark.spec("<id>") (see spec.toml), or drop the demand',
        "t.py::test_typo names 'metadata.modle', which spec.toml does not have",
        "sentence metadata.model has no hidden test: 'the model that answered' "
        '(test it, or mark it judged = "interviewer")',
    ]
