"""Rubric files: a malformed rubric is refused with errors that say exactly what to fix."""

import tomllib

import pytest

from rubrics import SchemaError, load_rubric, parse_rubric

GOOD = """
[rubric]
id = "demo"
title = "Demo"
scale = 3

[[criteria]]
id = "error-handling"
title = "Error handling"
description = "Faults become clean errors."
weight = 2
source = "automated"
[criteria.levels]
0 = "crashes"
1 = "some"
2 = "most"
3 = "all"

[[criteria]]
id = "communication"
title = "Communication"
description = "Explains trade-offs."
weight = 1
source = "interviewer"
[criteria.levels]
0 = "silent"
1 = "when asked"
2 = "narrates"
3 = "clear"
"""


def issues(text: str) -> list[str]:
    with pytest.raises(SchemaError) as info:
        parse_rubric(tomllib.loads(text), "demo/rubric.toml")
    return [str(i) for i in info.value.issues]


def test_good_rubric_loads():
    rubric = parse_rubric(tomllib.loads(GOOD), "demo/rubric.toml")
    assert [c.id for c in rubric.criteria] == ["error-handling", "communication"]
    assert rubric.criterion("error-handling").automated
    assert rubric.criterion("communication").levels[3] == "clear"


def test_missing_weight_names_file_field_and_expectation():
    text = GOOD.replace("weight = 2\n", "", 1)
    assert issues(text) == [
        "demo/rubric.toml: criteria[error-handling].weight: missing (expected a positive number)"
    ]


def test_wrong_source_lists_the_allowed_ones():
    text = GOOD.replace('source = "interviewer"', 'source = "peer"')
    assert issues(text) == [
        "demo/rubric.toml: criteria[communication].source: is 'peer' "
        "(expected one of automated, interviewer)"
    ]


def test_missing_level_anchor():
    text = GOOD.replace('2 = "most"\n', "")
    assert issues(text) == [
        "demo/rubric.toml: criteria[error-handling].levels: lacks level 2 "
        "(expected one anchor for each level 0..3)"
    ]


def test_every_problem_is_reported_at_once():
    text = GOOD.replace("weight = 2", "weight = -1").replace(
        'id = "communication"', 'id = "Communication!"'
    )
    found = issues(text)
    assert len(found) == 2
    assert "criteria[error-handling].weight: is -1" in found[0]
    assert "criteria[1].id: 'Communication!' is not a slug" in found[1]


def test_duplicate_ids_and_unknown_fields():
    text = GOOD.replace('id = "communication"', 'id = "error-handling"').replace(
        "scale = 3", "scale = 3\ncolour = 'red'"
    )
    found = issues(text)
    assert (
        "demo/rubric.toml: rubric.colour: unknown field "
        "(expected one of critical_cap, id, scale, title)" in found
    )
    assert any("criteria[1].id: 'error-handling' is used twice" in f for f in found)


def test_boolean_weight_is_not_a_number():
    assert issues(GOOD.replace("weight = 2", "weight = true")) == [
        "demo/rubric.toml: criteria[error-handling].weight: is True (expected a positive number)"
    ]


def test_partial_credit_on_interviewer_criterion_is_refused():
    text = GOOD.replace('source = "interviewer"', 'source = "interviewer"\npartial_credit = false')
    assert issues(text) == [
        "demo/rubric.toml: criteria[communication].partial_credit: is set on an "
        "interviewer-rated criterion (expected only on automated ones)"
    ]


def test_toml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text("[rubric\n")
    with pytest.raises(SchemaError) as info:
        load_rubric(path, "demo/rubric.toml")
    (issue,) = info.value.issues
    assert issue.file == "demo/rubric.toml" and issue.field == "(syntax)"


def test_version_changes_with_content():
    a = parse_rubric(tomllib.loads(GOOD))
    b = parse_rubric(tomllib.loads(GOOD.replace('3 = "all"', '3 = "every fault"')))
    assert a.version == parse_rubric(tomllib.loads(GOOD)).version
    assert a.version != b.version
