"""Scorecards as CSV (one row per interview, one column per criterion) and JSON."""

from __future__ import annotations

import csv
import io
from typing import Any

from review.selectors import ReviewRow

# A spreadsheet runs a cell that starts with one of these as a formula; candidate
# names and comments are untrusted text, so such cells are quoted with a '.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _decision(row: ReviewRow) -> dict[str, Any] | None:
    d = row.decision
    if d is None:
        return None
    return {
        "outcome": d.outcome,
        "comment": d.comment,
        "decided_by": d.decided_by.get_username() if d.decided_by else None,
        "decided_at": d.decided_at.isoformat(),
        "overall_at_decision": d.overall,
    }


def scorecards_json(rows: list[ReviewRow]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        i = row.interview
        card = row.scorecard.card.to_dict() if row.scorecard else None  # with its rubric and report
        out.append(
            {
                "interview": i.pk,
                "candidate": i.candidate_name,
                "candidate_email": i.candidate_email,
                "exercise": i.exercise.slug,
                "exercise_version": i.exercise_version,
                "state": i.state,
                "date": row.date.isoformat(),
                "interviewers": row.interviewers,
                "overall": row.overall,
                "rubric_version": row.scorecard.rubric_version if row.scorecard else None,
                "scorecard": card,
                "decision": _decision(row),
            }
        )
    return out


def scorecards_csv(rows: list[ReviewRow]) -> str:
    criteria: list[str] = []
    for row in rows:
        for bar in row.bars:
            if bar.id not in criteria:
                criteria.append(bar.id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "interview",
            "candidate",
            "email",
            "exercise",
            "state",
            "date",
            "interviewers",
            "overall",
            "complete",
            "rubric_version",
            *criteria,
            "decision",
            "decided_by",
            "decided_at",
            "comment",
        ]
    )
    for row in rows:
        i = row.interview
        scores = {b.id: b.score for b in row.bars}
        decision = _decision(row) or {}
        writer.writerow(
            [
                _cell(v)
                for v in [
                    i.pk,
                    i.candidate_name,
                    i.candidate_email,
                    i.exercise.slug,
                    i.state,
                    row.date.isoformat(),
                    "; ".join(row.interviewers),
                    "" if row.overall is None else row.overall,
                    "yes" if row.complete else "no",
                    row.scorecard.rubric_version if row.scorecard else "",
                    *["" if scores.get(c) is None else scores[c] for c in criteria],
                    decision.get("outcome", ""),
                    decision.get("decided_by") or "",
                    decision.get("decided_at", ""),
                    decision.get("comment", ""),
                ]
            ]
        )
    return buffer.getvalue()
