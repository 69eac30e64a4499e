"""The pure scoring function: test report + interviewer ratings -> scorecard.

Automated criterion: the tests marked with its id; skipped tests do not count.
fraction = passed / counted (0 unless all passed when partial_credit is false);
score = fraction * scale; level = the anchored level the score reaches (floor).
Interviewer criterion: the rated level is the score.
overall = 100 * sum(weight * score / scale) / sum(weight), over scored criteria only;
what is still unscored is listed in `unrated` and `complete` is false.

A scorecard embeds the rubric and the report it was computed from, so `rescore`
can apply new ratings later without ever picking up a newer rubric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .schema import Rubric

PASSED = "passed"
COUNTED_OUTCOMES = ("passed", "failed", "error")


@dataclass(frozen=True)
class Evidence:
    test_id: str
    title: str
    outcome: str  # passed | failed | error | skipped

    @property
    def text(self) -> str:
        verdict = {"passed": "yes", "failed": "no", "error": "no (error)", "skipped": "not run"}
        return f"{self.title}: {verdict.get(self.outcome, self.outcome)}"


@dataclass(frozen=True)
class CriterionScore:
    id: str
    title: str
    source: str
    weight: float
    max: int
    score: float | None  # None while unscored
    level: int | None
    level_text: str | None
    evidence: list[Evidence] = field(default_factory=list)
    note: str = ""  # why unscored, or what the interviewer rated

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = [{**asdict(e), "text": e.text} for e in self.evidence]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CriterionScore:
        evidence = [Evidence(e["test_id"], e["title"], e["outcome"]) for e in data["evidence"]]
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k != "evidence"}
        return cls(**fields, evidence=evidence)


@dataclass(frozen=True)
class Scorecard:
    rubric_id: str
    rubric_version: str
    overall: float | None  # 0-100 over scored criteria; None when nothing is scored
    complete: bool  # every criterion scored
    criteria: list[CriterionScore]
    unrated: list[str]  # criterion ids without a score yet
    tests: list[dict[str, Any]]  # id, title, criterion, outcome, duration
    unmatched_tests: list[str]  # test ids whose criterion is not in the rubric
    ratings: dict[str, int]
    rubric: dict[str, Any]  # snapshot, so rescoring never uses a newer rubric
    report: dict[str, Any]

    def criterion(self, cid: str) -> CriterionScore:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["criteria"] = [c.to_dict() for c in self.criteria]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        values = dict(data)
        values["criteria"] = [CriterionScore.from_dict(c) for c in data["criteria"]]
        return cls(**{k: values[k] for k in cls.__dataclass_fields__})


def _level(score: float) -> int:
    # Tolerance so 3 * (2/2) never lands on 2.9999.
    return math.floor(score + 1e-9)


def score(
    rubric: Rubric,
    report: Mapping[str, Any] | None,
    ratings: Mapping[str, int] | None = None,
) -> Scorecard:
    """Score a test report (the faultkit report.json shape) and interviewer ratings."""
    ratings = dict(ratings or {})
    for cid, level in ratings.items():
        try:
            crit = rubric.criterion(cid)
        except KeyError:
            raise ValueError(f"rating for unknown criterion {cid!r}") from None
        if crit.automated:
            raise ValueError(f"criterion {cid!r} is automated; it cannot be rated")
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= rubric.scale:
            raise ValueError(
                f"rating for {cid!r} must be an integer 0..{rubric.scale}, got {level!r}"
            )

    tests: list[dict[str, Any]] = [
        {
            "id": str(t.get("id")),
            "title": str(t.get("title") or t.get("id")),
            "criterion": t.get("criterion"),
            "outcome": str(t.get("outcome")),
            "duration": t.get("duration"),
        }
        for t in (report or {}).get("tests", [])
        if isinstance(t, Mapping)
    ]
    ids = {c.id for c in rubric.criteria}
    results: list[CriterionScore] = []
    for crit in rubric.criteria:
        scale = rubric.scale
        value: float | None = None
        note = ""
        evidence: list[Evidence] = []
        if crit.automated:
            evidence = [
                Evidence(t["id"], t["title"], t["outcome"])
                for t in tests
                if t["criterion"] == crit.id
            ]
            counted = [e for e in evidence if e.outcome in COUNTED_OUTCOMES]
            if report is None:
                note = "no test report"
            elif not counted:
                note = "no test gave evidence"
            else:
                fraction = sum(e.outcome == PASSED for e in counted) / len(counted)
                if not crit.partial_credit and fraction < 1:
                    fraction = 0.0
                value = round(fraction * scale, 2)
                note = f"{sum(e.outcome == PASSED for e in counted)} of {len(counted)} tests passed"
        elif crit.id in ratings:
            value = float(ratings[crit.id])
            note = "rated by the interviewer"
        else:
            note = "waiting for the interviewer's rating"
        reached = _level(value) if value is not None else None
        results.append(
            CriterionScore(
                id=crit.id,
                title=crit.title,
                source=crit.source,
                weight=crit.weight,
                max=scale,
                score=value,
                level=reached,
                level_text=crit.levels.get(reached) if reached is not None else None,
                evidence=evidence,
                note=note,
            )
        )
    scored = [r for r in results if r.score is not None]
    total_weight = sum(r.weight for r in scored)
    overall = None
    if scored and total_weight > 0:
        overall = round(
            100 * sum(r.weight * (r.score or 0.0) / r.max for r in scored) / total_weight, 1
        )
    return Scorecard(
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        overall=overall,
        complete=len(scored) == len(results),
        criteria=results,
        unrated=[r.id for r in results if r.score is None],
        tests=tests,
        unmatched_tests=[t["id"] for t in tests if t["criterion"] not in ids],
        ratings=ratings,
        rubric=rubric.to_dict(),
        report=dict(report or {}),
    )


def rescore(card: Scorecard, ratings: Mapping[str, int]) -> Scorecard:
    """This scorecard with new interviewer ratings, under the rubric it was scored with."""
    return score(Rubric.from_dict(card.rubric), card.report or None, ratings)
