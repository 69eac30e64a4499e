"""{{ overall|score }} and {{ criterion_score|score:2 }}: grading.score_text in templates."""

from __future__ import annotations

from typing import Any

from django import template

from grading.score_text import OVERALL_PLACES, score_text

register = template.Library()


@register.filter(name="score")
def score(value: Any, places: int = OVERALL_PLACES) -> str:
    return score_text(value, int(places))
