"""What the platform stores from candidate code fits PostgreSQL's text and jsonb."""

from __future__ import annotations

from faultline.storable import is_storable, storable


def test_nul_and_lone_surrogates_become_the_replacement_character_everywhere() -> None:
    report = {"tests": [{"id": "t\x00", "output": "a\x00b\ud800c", "n": 3}], "ok": True}
    assert storable(report) == {
        "tests": [{"id": "t\ufffd", "output": "a\ufffdb\ufffdc", "n": 3}],
        "ok": True,
    }
    assert is_storable(storable(report)) and not is_storable(report)


def test_ordinary_text_is_left_exactly_as_it_was() -> None:
    text = "naïve café 😀 \\x00 \\u0000 tab\tnewline\n"
    assert storable({"k": [text]}) == {"k": [text]}
    assert is_storable(text)
