"""Reads for the review pages: rows of the list, a scorecard with its evidence,
a replay, a comparison and a score distribution.

A scorecard is read once, typed (`grading.models.Scorecard.card`, the rubric engine's
`rubrics.Scorecard`), with only the test output (kept in the report) joined back in.
The histogram's geometry is in review/charts.py, an event's wording in review/wording.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

import rubrics
from grading.models import Rating, Scorecard, TestRun
from interviews.exercises import starter_files as catalog_starter
from interviews.models import Exercise, Interview, TimelineEvent
from review import replay
from review.charts import Distribution, HistogramBin
from review.models import Decision
from review.wording import event_summary

REVIEWABLE_STATES = (Interview.State.GRADED, Interview.State.REVIEWED)
SORTS = {
    "-date": "newest first",
    "date": "oldest first",
    "-overall": "highest score",
    "overall": "lowest score",
    "candidate": "candidate A to Z",
}
HISTOGRAM_BINS = 10


# ---------------------------------------------------------------- shared pieces


@dataclass
class Bar:
    id: str
    title: str
    score: float | None
    max: float
    level: int | None

    @property
    def percent(self) -> float:
        if self.score is None or not self.max:
            return 0.0
        return round(100 * self.score / self.max, 1)


def _bars(card: rubrics.Scorecard | None) -> list[Bar]:
    if card is None:
        return []
    return [Bar(c.id, c.title, c.score, float(c.max), c.level) for c in card.criteria]


def _critical(card: rubrics.Scorecard | None) -> list[str]:
    """The critical faults' plain words, in the card's order (none on cards stored
    before faults were marked critical)."""
    if card is None:
        return []
    return list(dict.fromkeys(f.text for f in card.critical if f.text))  # two tests, one fault


def _latest_scorecard(interview: Interview) -> Scorecard | None:
    # Prefetched newest first (see _interviews); indexing keeps it one query per page.
    cards = list(interview.scorecards.all())
    return cards[0] if cards else None


def _latest_decision(interview: Interview) -> Decision | None:
    decisions = list(interview.decisions.all())
    return decisions[0] if decisions else None


def _interviewer_names(interview: Interview) -> list[str]:
    return [u.get_full_name() or u.get_username() for u in interview.interviewers.all()]


def _interviews() -> QuerySet[Interview]:
    return Interview.objects.select_related("exercise").prefetch_related(
        "interviewers",
        Prefetch(
            "scorecards",
            queryset=Scorecard.objects.select_related("test_run").order_by("-created_at"),
        ),
        Prefetch(
            "decisions",
            queryset=Decision.objects.select_related("decided_by").order_by("-decided_at"),
        ),
    )


# ---------------------------------------------------------------- the list


@dataclass
class ReviewRow:
    interview: Interview
    scorecard: Scorecard | None
    overall: float | None
    complete: bool
    bars: list[Bar]
    interviewers: list[str]
    date: datetime
    decision: Decision | None
    critical: list[str] = field(default_factory=list)  # critical faults, in plain words


@dataclass
class ReviewFilters:
    exercise: str = ""
    state: str = ""
    q: str = ""
    sort: str = "-date"
    ids: list[int] = field(default_factory=list)

    @classmethod
    def parse(cls, params: Mapping[str, Any], ids: Sequence[str] = ()) -> ReviewFilters:
        state = str(params.get("state", ""))
        sort = str(params.get("sort", "-date"))
        return cls(
            exercise=str(params.get("exercise", "")).strip(),
            state=state if state in REVIEWABLE_STATES else "",
            q=str(params.get("q", "")).strip()[:100],
            sort=sort if sort in SORTS else "-date",
            ids=[int(i) for i in ids if str(i).isdigit()],
        )


def review_row(interview: Interview) -> ReviewRow:
    scorecard = _latest_scorecard(interview)
    card = scorecard.card if scorecard else None
    return ReviewRow(
        interview=interview,
        scorecard=scorecard,
        overall=scorecard.overall if scorecard else None,
        complete=card.complete if card else False,
        bars=_bars(card),
        interviewers=_interviewer_names(interview),
        date=interview.ended_at or interview.started_at or interview.scheduled_at,
        decision=_latest_decision(interview),
        critical=_critical(card),
    )


def review_rows(filters: ReviewFilters) -> list[ReviewRow]:
    """Graded and reviewed interviews matching the filters, sorted as asked."""
    qs = _interviews().filter(state__in=REVIEWABLE_STATES)
    if filters.exercise:
        qs = qs.filter(exercise__slug=filters.exercise)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.q:
        qs = qs.filter(candidate_name__icontains=filters.q)
    if filters.ids:
        qs = qs.filter(pk__in=filters.ids)
    rows = [review_row(i) for i in qs]
    if filters.sort in {"date", "-date"}:
        rows.sort(key=lambda r: r.date, reverse=filters.sort == "-date")
    elif filters.sort == "candidate":
        rows.sort(key=lambda r: r.interview.candidate_name.casefold())
    else:
        # Unscored interviews go last whichever way the scores are sorted.
        scored = [r for r in rows if r.overall is not None]
        unscored = [r for r in rows if r.overall is None]
        scored.sort(key=lambda r: r.overall or 0.0, reverse=filters.sort == "-overall")
        rows = scored + unscored
    return rows


def exercises_with_reviews() -> QuerySet[Exercise]:
    return Exercise.objects.filter(interviews__state__in=REVIEWABLE_STATES).distinct()


# ---------------------------------------------------------------- one scorecard


@dataclass
class EvidenceView:
    test_id: str
    title: str
    outcome: str
    text: str
    output: str
    duration: float | None

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass
class LevelView:
    level: int
    text: str
    reached: bool


@dataclass
class CriterionView:
    id: str
    title: str
    description: str
    source: str
    weight: float
    bar: Bar
    level_text: str | None
    levels: list[LevelView]
    evidence: list[EvidenceView]
    note: str
    rating: Rating | None

    @property
    def automated(self) -> bool:
        return self.source == "automated"

    @property
    def passed_count(self) -> int:
        return sum(e.passed for e in self.evidence)


@dataclass
class ScorecardView:
    interview: Interview
    scorecard: Scorecard | None
    test_run: TestRun | None
    overall: float | None
    complete: bool
    rubric_id: str
    rubric_title: str
    rubric_version: str
    criteria: list[CriterionView]
    unrated: list[str]
    unmatched_tests: list[str]
    notes: list[TimelineEvent]
    decisions: list[Decision]
    interviewers: list[str]
    critical: list[str] = field(default_factory=list)  # critical faults, in plain words
    uncapped_overall: float | None = None  # the overall before critical faults capped it

    @property
    def bars(self) -> list[Bar]:
        return [c.bar for c in self.criteria]

    @property
    def decidable(self) -> bool:
        return self.scorecard is not None and self.interview.state in REVIEWABLE_STATES


def _test_outputs(card: rubrics.Scorecard, run: TestRun) -> dict[str, Mapping[str, Any]]:
    """Each test's full record (with output) by id: the report first, then the run."""
    found: dict[str, Mapping[str, Any]] = {}
    for tests in (card.report.get("tests", []), run.tests):
        for test in tests or []:
            if isinstance(test, Mapping) and str(test.get("id")) not in found:
                found[str(test.get("id"))] = test
    return found


def _criterion_view(
    score: rubrics.CriterionScore,
    rubric: rubrics.Rubric,
    outputs: Mapping[str, Mapping[str, Any]],
    rating: Rating | None,
) -> CriterionView:
    try:
        criterion: rubrics.Criterion | None = rubric.criterion(score.id)
    except KeyError:  # a criterion the rubric no longer names
        criterion = None
    levels = criterion.levels if criterion else {}
    evidence = [
        EvidenceView(
            test_id=e.test_id,
            title=e.title,
            outcome=e.outcome,
            text=e.text,
            output=str(outputs.get(e.test_id, {}).get("output") or ""),
            duration=outputs.get(e.test_id, {}).get("duration"),
        )
        for e in score.evidence
    ]
    bar = Bar(score.id, score.title, score.score, float(score.max), score.level)
    return CriterionView(
        id=score.id,
        title=score.title,
        description=criterion.description if criterion else "",
        source=score.source,
        weight=score.weight,
        bar=bar,
        level_text=score.level_text,
        levels=[LevelView(k, v, score.level == k) for k, v in sorted(levels.items())],
        evidence=evidence,
        note=score.note,
        rating=rating,
    )


def scorecard_view(interview: Interview) -> ScorecardView:
    interview = _interviews().get(pk=interview.pk)
    scorecard = _latest_scorecard(interview)
    notes = list(interview.events.filter(kind=TimelineEvent.Kind.NOTE).order_by("at", "id"))
    decisions = list(interview.decisions.all())
    names = _interviewer_names(interview)
    if scorecard is None:
        return ScorecardView(
            interview, None, None, None, False, "", "", "", [], [], [], notes, decisions, names
        )
    card = scorecard.card
    rubric = scorecard.rubric_typed
    outputs = _test_outputs(card, scorecard.test_run)
    ratings = {r.criterion_id: r for r in interview.ratings.select_related("rated_by")}
    criteria = [_criterion_view(c, rubric, outputs, ratings.get(c.id)) for c in card.criteria]
    titles = {c.id: c.title for c in criteria}
    return ScorecardView(
        interview=interview,
        scorecard=scorecard,
        test_run=scorecard.test_run,
        overall=scorecard.overall,
        complete=card.complete,
        rubric_id=card.rubric_id or rubric.id,
        rubric_title=rubric.title,
        rubric_version=scorecard.rubric_version or card.rubric_version,
        criteria=criteria,
        unrated=[titles.get(cid, cid) for cid in card.unrated],
        unmatched_tests=list(card.unmatched_tests),
        notes=notes,
        decisions=decisions,
        interviewers=names,
        critical=_critical(card),
        uncapped_overall=card.uncapped_overall,
    )


# ---------------------------------------------------------------- replay


@dataclass
class ReplayEvent:
    index: int  # 1-based: the scrubber position right after this event
    at: datetime
    offset_seconds: int
    kind: str
    actor: str
    audience: str
    summary: str
    detail: str
    path: str

    @property
    def kind_label(self) -> str:
        return self.kind.replace("_", " ")

    @property
    def clock(self) -> str:
        """Time since the interview started, as m:ss (h:mm:ss past an hour)."""
        minutes, seconds = divmod(self.offset_seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@dataclass
class ReplayView:
    interview: Interview
    starter: dict[str, str]
    final: dict[str, str]
    final_source: str
    events: list[ReplayEvent]
    changes: list[replay.FileChange | None]
    position: int
    files: dict[str, str]
    diff: list[replay.FileDiff]
    states: list[dict[str, str]]  # the files at every position, 0 to len(events)
    wanted_path: str = ""
    terminal: str = ""  # the terminal's recorded output as text (review.replay)
    terminal_at: list[int] = field(default_factory=list)  # how much of it, per position

    @property
    def terminal_now(self) -> str:
        """The tail of the terminal's screen at this moment."""
        at = self.terminal_at[self.position] if self.terminal_at else 0
        return self.terminal[max(0, at - replay.TERMINAL_TAIL) : at]

    @property
    def selected(self) -> str | None:
        """The file shown: the one asked for, else the one last edited up to this moment."""
        if self.wanted_path in self.files:
            return self.wanted_path
        return replay.focus(self.changes, self.files, self.position)

    @property
    def selected_content(self) -> str:
        return self.files.get(self.selected or "", "")

    @property
    def paths(self) -> list[str]:
        return sorted(self.files)

    def payload(self) -> dict[str, Any]:
        """What the scrubber script needs: the files at every position, folded here."""
        data = replay.scrubber_data(self.states, self.changes)
        if self.terminal:
            data.update(terminal=self.terminal, terminal_at=self.terminal_at,
                        terminal_tail=replay.TERMINAL_TAIL)  # fmt: skip
        return data


def starter_files(exercise: Exercise) -> dict[str, str]:
    """The exercise's starter project, from the synced manifest or the exercise catalog."""
    from_manifest = exercise.manifest.get("starter_files")
    if isinstance(from_manifest, Mapping) and from_manifest:
        return {str(k): str(v) for k, v in from_manifest.items()}
    try:
        return catalog_starter(exercise.slug)
    except (KeyError, LookupError, OSError, ValueError):
        # The folder was removed or broken since: replay still works from the edits.
        return {}


def replay_view(interview: Interview, *, position: int | None = None, path: str = "") -> ReplayView:
    """The timeline with the files at `position` (default: the end) and the final diff."""
    starter = starter_files(interview.exercise)
    events = list(interview.events.order_by("at", "id"))
    start = interview.started_at or (events[0].at if events else interview.scheduled_at)
    views, changes = [], []
    for i, event in enumerate(events, start=1):
        summary, detail, event_path = event_summary(event)
        views.append(
            ReplayEvent(
                index=i,
                at=event.at,
                offset_seconds=max(0, int((event.at - start).total_seconds())),
                kind=event.kind,
                actor=event.actor,
                audience=event.audience,
                summary=summary,
                detail=detail,
                path=event_path,
            )
        )
        changes.append(replay.file_change(event.kind, event.data or {}))
    end = len(events)
    at = end if position is None else max(0, min(position, end))
    states = replay.timeline(starter, changes)
    terminal, terminal_at = replay.terminal_timeline([(e.kind, e.data or {}) for e in events])
    scorecard = interview.scorecards.select_related("test_run__snapshot").first()
    if scorecard is not None:
        final, source = dict(scorecard.test_run.snapshot.files), "the graded submission"
    else:
        final = dict(interview.files.values_list("path", "content"))
        source = "the workspace as it is now"
    return ReplayView(
        interview=interview,
        starter=starter,
        final=final,
        final_source=source,
        events=views,
        changes=changes,
        position=at,
        files=states[at],
        diff=replay.diff_files(starter, final),
        states=states,
        wanted_path=path,
        terminal=terminal,
        terminal_at=terminal_at,
    )


# ---------------------------------------------------------------- compare


@dataclass
class CompareCell:
    bar: Bar
    level_text: str | None
    note: str


@dataclass
class CompareRow:
    id: str
    title: str
    source: str
    weight: float
    cells: list[CompareCell | None]


@dataclass
class CompareView:
    exercise: Exercise
    rows: list[ReviewRow]
    criteria: list[CompareRow]
    rubric_versions: list[str]
    distribution: Distribution


class CompareError(ValueError):
    """The chosen interviews cannot be compared; the message says why."""


def compare_view(ids: Iterable[int]) -> CompareView:
    """Two or more graded interviews of one exercise, side by side per criterion."""
    wanted = list(dict.fromkeys(ids))
    interviews = list(_interviews().filter(pk__in=wanted, state__in=REVIEWABLE_STATES))
    if len(interviews) < 2:
        raise CompareError("Choose at least two graded interviews to compare.")
    exercises = {i.exercise_id for i in interviews}
    if len(exercises) > 1:
        raise CompareError("Only interviews of the same exercise can be compared.")
    by_id = {i.pk: i for i in interviews}
    rows = [review_row(by_id[pk]) for pk in wanted if pk in by_id]
    order: dict[str, CompareRow] = {}
    cards = [r.scorecard.card if r.scorecard else None for r in rows]
    for card in cards:
        for c in card.criteria if card else []:
            if c.id not in order:
                order[c.id] = CompareRow(c.id, c.title, c.source, c.weight, [])
    for card in cards:
        found = {c.id: c for c in card.criteria} if card else {}
        bars = {b.id: b for b in _bars(card)}
        for cid, row in order.items():
            got = found.get(cid)
            cell = None if got is None else CompareCell(bars[cid], got.level_text, got.note)
            row.cells.append(cell)
    versions = sorted({r.scorecard.rubric_version for r in rows if r.scorecard})
    exercise = rows[0].interview.exercise
    return CompareView(
        exercise,
        rows,
        list(order.values()),
        versions,
        score_distribution(exercise, highlight=wanted),
    )


# ---------------------------------------------------------------- distribution


def score_distribution(exercise: Exercise, *, highlight: Iterable[int] = ()) -> Distribution:
    """How the overall scores of an exercise's graded interviews spread over 0 to 100."""
    marked = set(highlight)
    width = 100 // HISTOGRAM_BINS
    bins = [HistogramBin(i * width, (i + 1) * width, 0, []) for i in range(HISTOGRAM_BINS)]
    scores: list[tuple[str, float, bool]] = []
    for interview in _interviews().filter(exercise=exercise, state__in=REVIEWABLE_STATES):
        card = _latest_scorecard(interview)
        if card is None or card.overall is None:
            continue
        overall = float(card.overall)
        index = min(int(overall // width), HISTOGRAM_BINS - 1)
        bins[index].count += 1
        bins[index].candidates.append(interview.candidate_name)
        scores.append((interview.candidate_name, overall, interview.pk in marked))
    ordered = sorted(s for _, s, _ in scores)
    median = None
    if ordered:
        mid = len(ordered) // 2
        median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return Distribution(exercise, bins, scores, median)
