"""One rounding rule for every score a person reads: the console, /review/ and the replay."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from grading.models import Scorecard
from grading.score_text import NO_SCORE, score_text, scorecard_texts
from grading.selectors import scorecard_for


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (97.16, 1, "97.2"),
        (97.0, 1, "97"),
        (97.04, 1, "97"),
        (97.25, 1, "97.3"),  # halves round up, not to even
        (0.05, 1, "0.1"),
        (100, 1, "100"),
        (None, 1, NO_SCORE),
        (float("nan"), 1, NO_SCORE),
        (5 / 3, 2, "1.67"),
        (2.0, 2, "2"),
        (-0.01, 1, "0"),
    ],
)
def test_score_text(value: Any, places: int, text: str) -> None:
    assert score_text(value, places) == text


@pytest.mark.django_db
def test_the_console_and_review_show_the_same_score(make_graded: Any, personas: Any) -> None:
    interview = make_graded("Riley Reference", ratings={"communication": 3})
    card = Scorecard.objects.get(interview=interview)
    card.overall = 97.16
    card.data = {**card.data, "overall": 97.16}
    card.data["criteria"][0]["score"] = 5 / 3
    card.save()

    console = scorecard_for(interview)  # what the console's state carries
    assert console is not None
    assert console["overall_text"] == "97.2" and console["criteria"][0]["score_text"] == "1.67"
    assert scorecard_texts({**card.data})["overall_text"] == "97.2"  # the live event

    manager = Client()
    manager.force_login(personas["hiring_manager"])
    listing = manager.get(reverse("review:list")).content.decode()
    page = manager.get(reverse("review:scorecard", args=[interview.pk])).content.decode()
    assert ">97.2<" in listing and ">97.2<" in page and "97.16" not in listing + page
    assert "1.67" in page and "1.6666" not in page
