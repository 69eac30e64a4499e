"""The pure scoring function: test report + interviewer ratings -> scorecard.

Automated criterion: the tests marked with its id; skipped tests do not count.
Each hidden test declares what its failure means: `criterion("id", fails_to=N)` says
"if this fails, the criterion is at most level N". The criterion's level is the lowest
cap among its failed tests (the top of the scale when none failed), and its score is
that level, so the anchored text shown is true of the evidence. A failed test with no
declared cap costs one level (check_exercise refuses such suites); partial_credit =
false makes every failure a level 0.
Scorecards stored before tests declared caps (no test of a criterion carries one) are
rescored as they were scored: score = scale * passed / counted, level = its floor.
Interviewer criterion: the rated level is the score.
overall = 100 * sum(weight * score / scale) / sum(weight), over scored criteria only;
what is still unscored is listed in `unrated` and `complete` is false.
Critical faults: a failed test marked critical (or any failed test of a criterion
marked critical) is listed in `critical`, in plain words, and the overall is capped at
the rubric's `critical_cap`. Only outcome "failed" counts: a test in error (the app
never started) still costs its level but is not evidence of the fault it names.

A scorecard carries the rubric and the report it was computed from, so `rescore`
can apply new ratings later without ever picking up a newer rubric. A store that keeps
both elsewhere (the platform: the rubric on its scorecard row, the report on the run)
writes `to_dict(sources=False)` and gives them back to `from_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .schema import Rubric

PASSED = "passed"
COUNTED_OUTCOMES = ("passed", "failed", "error")
FAILED_OUTCOMES = ("failed", "error")
# 1: levels from the passed fraction; 2: levels from the caps the failed tests declare,
# critical faults. Stored cards without the field are version 1.
SCORECARD_VERSION = 2
# What a scorecard was computed from (see to_dict's `sources`).
SOURCES = ("rubric", "report")


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
    capped_by: list[str] = field(default_factory=list)  # failed test ids that set the level

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = [{**asdict(e), "text": e.text} for e in self.evidence]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CriterionScore:
        evidence = [Evidence(e["test_id"], e["title"], e["outcome"]) for e in data["evidence"]]
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k != "evidence" and k in data}
        return cls(**fields, evidence=evidence)


@dataclass(frozen=True)
class CriticalFault:
    """A failed critical test: what it means in plain words, and where it came from."""

    text: str  # "Renders model text as HTML"
    test_id: str
    title: str
    criterion: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    critical: list[CriticalFault] = field(default_factory=list)  # failed critical tests
    uncapped_overall: float | None = None  # the overall before the critical cap
    version: int = 1  # SCORECARD_VERSION it was scored with; stored cards without it are 1

    def criterion(self, cid: str) -> CriterionScore:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def to_dict(self, *, sources: bool = True) -> dict[str, Any]:
        """The card as JSON; without its rubric and report when `sources` is false."""
        data = asdict(self)
        data["criteria"] = [c.to_dict() for c in self.criteria]
        data["critical"] = [f.to_dict() for f in self.critical]
        if not sources:
            for key in SOURCES:
                del data[key]
        return data

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        rubric: Mapping[str, Any] | None = None,
        report: Mapping[str, Any] | None = None,
    ) -> Scorecard:
        """A stored card; `rubric` and `report` stand in for sources it was stored without."""
        values = dict(data)
        for key, given in (("rubric", rubric), ("report", report)):
            if key not in values and given is not None:
                values[key] = dict(given)
        values["criteria"] = [CriterionScore.from_dict(c) for c in data["criteria"]]
        values["critical"] = [CriticalFault(**f) for f in data.get("critical") or []]
        return cls(**{k: values[k] for k in cls.__dataclass_fields__ if k in values})


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

    tests: list[dict[str, Any]] = []
    for t in (report or {}).get("tests", []):
        if not isinstance(t, Mapping):
            continue
        entry = {
            "id": str(t.get("id")),
            "title": str(t.get("title") or t.get("id")),
            "criterion": t.get("criterion"),
            "outcome": str(t.get("outcome")),
            "duration": t.get("duration"),
        }
        # Declared meaning of a failure; absent in reports made before tests declared it.
        cap = t.get("fails_to")
        if isinstance(cap, int) and not isinstance(cap, bool):
            entry["fails_to"] = cap
        if isinstance(t.get("critical"), str) and t["critical"].strip():
            entry["critical"] = t["critical"].strip()
        tests.append(entry)
    ids = {c.id for c in rubric.criteria}
    results: list[CriterionScore] = []
    faults: list[CriticalFault] = []
    for crit in rubric.criteria:
        scale = rubric.scale
        value: float | None = None
        reached: int | None = None
        note = ""
        capped_by: list[str] = []
        evidence: list[Evidence] = []
        if crit.automated:
            mine = [t for t in tests if t["criterion"] == crit.id]
            evidence = [Evidence(t["id"], t["title"], t["outcome"]) for t in mine]
            counted = [t for t in mine if t["outcome"] in COUNTED_OUTCOMES]
            failed = [t for t in counted if t["outcome"] in FAILED_OUTCOMES]
            passed = len(counted) - len(failed)
            # Only a test whose own check failed: an error (the app never started, a
            # fixture broke) says nothing about the fault the words name.
            for t in failed:
                text = t.get("critical") or crit.critical
                if text and t["outcome"] == "failed":
                    faults.append(CriticalFault(text, t["id"], t["title"], crit.id))
            if report is None:
                note = "no test report"
            elif not counted:
                note = "no test gave evidence"
            elif not any("fails_to" in t for t in mine):
                # A report from before tests declared caps: scored as it was then.
                fraction = passed / len(counted)
                if not crit.partial_credit and fraction < 1:
                    fraction = 0.0
                value = round(fraction * scale, 2)
                reached = _level(value)
                note = f"{passed} of {len(counted)} tests passed"
            else:
                reached = scale
                for t in failed:
                    cap = 0 if not crit.partial_credit else t.get("fails_to", scale - 1)
                    cap = max(0, min(scale, cap))
                    if cap < reached:
                        reached, capped_by = cap, [t["id"]]
                    elif cap == reached:
                        capped_by.append(t["id"])
                value = float(reached)
                note = f"{passed} of {len(counted)} tests passed"
                if capped_by:
                    titles = [t["title"] for t in failed if t["id"] in capped_by]
                    note += f"; level {reached} because it failed: " + "; ".join(titles)
        elif crit.id in ratings:
            value = float(ratings[crit.id])
            reached = _level(value)
            note = "rated by the interviewer"
        else:
            note = "waiting for the interviewer's rating"
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
                capped_by=capped_by,
            )
        )
    scored = [r for r in results if r.score is not None]
    total_weight = sum(r.weight for r in scored)
    overall = None
    if scored and total_weight > 0:
        overall = round(
            100 * sum(r.weight * (r.score or 0.0) / r.max for r in scored) / total_weight, 1
        )
    uncapped = overall
    if faults and overall is not None and rubric.critical_cap is not None:
        overall = min(overall, rubric.critical_cap)
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
        critical=faults,
        uncapped_overall=uncapped,
        version=SCORECARD_VERSION,
    )


def rescore(card: Scorecard, ratings: Mapping[str, int]) -> Scorecard:
    """This scorecard with new interviewer ratings, under the rubric it was scored with."""
    return score(Rubric.from_dict(card.rubric), card.report or None, ratings)
