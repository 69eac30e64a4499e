"""How a score is written wherever a person reads it: one rule for every page and script.

The overall score (0-100) has one decimal, a criterion's score two; a trailing zero
is dropped (97.2, 97, 1.67, 2) and halves round up. The console's script shows the
text made here instead of rounding on its own (it showed 97 where /review/ said 97.2).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

OVERALL_PLACES = 1
CRITERION_PLACES = 2
NO_SCORE = "\u2013"  # an en dash


def score_text(value: Any, places: int = OVERALL_PLACES) -> str:
    """`value` rounded half-up to `places` decimals, without trailing zeros; a dash for none."""
    if value is None or isinstance(value, bool):
        return NO_SCORE
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return NO_SCORE
    if not number.is_finite():
        return NO_SCORE
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{rounded:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def scorecard_texts(card: dict[str, Any]) -> dict[str, Any]:
    """A scorecard's data with the written score beside each number, for the console."""
    criteria = [
        {**c, "score_text": score_text(c.get("score"), CRITERION_PLACES)}
        if isinstance(c, dict)
        else c
        for c in card.get("criteria") or []
    ]
    return {**card, "overall_text": score_text(card.get("overall")), "criteria": criteria}
