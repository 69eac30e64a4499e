"""check_exercise's judgement of a suite's meaning and its spec map (no sandbox needed)."""

import dataclasses

from exercises import catalog
from exercises.catalog import Sentence
from exercises.check import _check_sharp, mutant_coverage, spec_map, suite_meaning_problems

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


def test_a_tested_sentence_no_mutant_breaks_fails_the_check_naming_it():
    spec = (
        Sentence("metadata.object", "metadata", "carries a metadata object"),
        Sentence("metadata.model", "metadata", "the model that answered"),
        Sentence("show.fields", "show-metadata", "show it", judged="interviewer"),
    )
    breaks_object = dataclasses.replace(EXERCISE.mutants[0], spec=("metadata.object",))
    exercise = dataclasses.replace(EXERCISE, spec=spec, mutants=(breaks_object,))
    line, problems = mutant_coverage(exercise)
    assert line == "mutants by the spec map: 1 of 2 tested sentences have a mutant that breaks them"
    assert problems == [
        "sentence metadata.model has no mutant that breaks it: 'the model that answered' "
        "(add a plausible wrong solution under mutants/ with spec = ['metadata.model'] "
        "in its mutant.toml)"
    ]
    breaks_model = dataclasses.replace(breaks_object, spec=("metadata.model",))
    covered = dataclasses.replace(exercise, mutants=(breaks_object, breaks_model))
    assert mutant_coverage(covered)[1] == []


def test_the_sharp_pass_fails_on_a_sentence_no_mutant_breaks():
    # No suite runs here (hidden() gives no result): only the spec map's coverage is judged.
    exercise = catalog.find("cancellation")
    without = tuple(m for m in exercise.mutants if "button.missing" not in m.spec)
    problems: list[str] = []
    lines: list[str] = []
    _check_sharp(
        dataclasses.replace(exercise, mutants=without),
        lambda files, label, **_: None,
        problems.append,
        lines.append,
    )
    assert (
        "mutants by the spec map: 15 of 16 tested sentences have a mutant that breaks them" in lines
    )
    assert problems == [
        "spec map: sentence button.missing has no mutant that breaks it: 'no such answer | `404`' "
        "(add a plausible wrong solution under mutants/ with spec = ['button.missing'] in its "
        "mutant.toml)"
    ]
    _check_sharp(exercise, lambda files, label, **_: None, problems.append, lines.append)
    assert len(problems) == 1
