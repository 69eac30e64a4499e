"""Reads for the review pages: rows of the list, a scorecard with its evidence,
a replay, a comparison and a score distribution.

The scorecard dict is the rubric engine's `Scorecard.to_dict()`; it is rendered
as it is, with only the test output (kept in the report) joined back in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from grading.models import Rating, Scorecard, TestRun
from grading.score_text import score_text
from interviews.models import Exercise, Interview, TimelineEvent
from review import replay
from review.models import Decision

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


def _bars(card: Mapping[str, Any]) -> list[Bar]:
    return [
        Bar(
            id=str(c.get("id", "")),
            title=str(c.get("title", "")),
            score=c.get("score"),
            max=float(c.get("max") or 0),
            level=c.get("level"),
        )
        for c in card.get("criteria", [])
        if isinstance(c, Mapping)
    ]


def _critical(card: Mapping[str, Any]) -> list[str]:
    """The critical faults' plain words, in the card's order (none on cards stored
    before faults were marked critical)."""
    faults = card.get("critical") or []
    texts = [str(f.get("text")) for f in faults if isinstance(f, Mapping) and f.get("text")]
    return list(dict.fromkeys(texts))  # two tests can find the same fault


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
    card = scorecard.data if scorecard else {}
    return ReviewRow(
        interview=interview,
        scorecard=scorecard,
        overall=scorecard.overall if scorecard else None,
        complete=bool(card.get("complete")),
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


def _rubric_criteria(scorecard: Scorecard) -> dict[str, Mapping[str, Any]]:
    rubric = scorecard.data.get("rubric") or scorecard.rubric or {}
    return {str(c.get("id")): c for c in rubric.get("criteria", []) if isinstance(c, Mapping)}


def _test_outputs(scorecard: Scorecard) -> dict[str, Mapping[str, Any]]:
    """Each test's full record (with output) by id: the report first, then the run."""
    found: dict[str, Mapping[str, Any]] = {}
    sources: list[Any] = [
        (scorecard.data.get("report") or {}).get("tests", []),
        scorecard.test_run.tests if scorecard.test_run_id else [],
    ]
    for tests in sources:
        for test in tests or []:
            if isinstance(test, Mapping) and str(test.get("id")) not in found:
                found[str(test.get("id"))] = test
    return found


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
    card = scorecard.data
    rubric_criteria = _rubric_criteria(scorecard)
    outputs = _test_outputs(scorecard)
    ratings = {r.criterion_id: r for r in interview.ratings.select_related("rated_by")}
    criteria = []
    for c, bar in zip(card.get("criteria", []), _bars(card), strict=False):
        rubric_c = rubric_criteria.get(bar.id, {})
        levels = rubric_c.get("levels") or {}
        evidence = []
        for e in c.get("evidence", []):
            full = outputs.get(str(e.get("test_id")), {})
            evidence.append(
                EvidenceView(
                    test_id=str(e.get("test_id", "")),
                    title=str(e.get("title", "")),
                    outcome=str(e.get("outcome", "")),
                    text=str(e.get("text") or e.get("title", "")),
                    output=str(full.get("output") or ""),
                    duration=full.get("duration"),
                )
            )
        criteria.append(
            CriterionView(
                id=bar.id,
                title=bar.title,
                description=str(rubric_c.get("description", "")),
                source=str(c.get("source", "")),
                weight=float(c.get("weight") or 0),
                bar=bar,
                level_text=c.get("level_text"),
                levels=[
                    LevelView(int(k), str(v), bar.level == int(k))
                    for k, v in sorted(levels.items(), key=lambda kv: int(kv[0]))
                ],
                evidence=evidence,
                note=str(c.get("note", "")),
                rating=ratings.get(bar.id),
            )
        )
    titles = {c.id: c.title for c in criteria}
    rubric = card.get("rubric") or scorecard.rubric or {}
    return ScorecardView(
        interview=interview,
        scorecard=scorecard,
        test_run=scorecard.test_run,
        overall=scorecard.overall,
        complete=bool(card.get("complete")),
        rubric_id=str(card.get("rubric_id") or rubric.get("id", "")),
        rubric_title=str(rubric.get("title", "")),
        rubric_version=scorecard.rubric_version or str(card.get("rubric_version", "")),
        criteria=criteria,
        unrated=[titles.get(cid, cid) for cid in card.get("unrated", [])],
        unmatched_tests=[str(t) for t in card.get("unmatched_tests", [])],
        notes=notes,
        decisions=decisions,
        interviewers=names,
        critical=_critical(card),
        uncapped_overall=card.get("uncapped_overall"),
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
    wanted_path: str = ""

    @property
    def selected(self) -> str | None:
        """The file shown: the one asked for, else the one last edited up to this moment."""
        if self.wanted_path in self.files:
            return self.wanted_path
        # The file the latest file event up to here touched: what the candidate was on.
        for change in reversed(self.changes[: self.position]):
            if change is not None and change.path in self.files:
                return change.path
        return min(self.files) if self.files else None

    @property
    def selected_content(self) -> str:
        return self.files.get(self.selected or "", "")

    @property
    def paths(self) -> list[str]:
        return sorted(self.files)

    def payload(self) -> dict[str, Any]:
        """What the scrubber script needs to rebuild the files in the browser."""
        return {
            "starter": self.starter,
            "changes": [
                None if c is None else {"kind": c.kind, "path": c.path, "content": c.content}
                for c in self.changes
            ],
        }


def starter_files(exercise: Exercise) -> dict[str, str]:
    """The exercise's starter project, from the synced manifest or the exercise catalog."""
    from_manifest = exercise.manifest.get("starter_files")
    if isinstance(from_manifest, Mapping) and from_manifest:
        return {str(k): str(v) for k, v in from_manifest.items()}
    from interviews.exercises import starter_files as catalog_starter

    try:
        return catalog_starter(exercise.slug)
    except (KeyError, LookupError, OSError, ValueError):
        # The folder was removed or broken since: replay still works from the edits.
        return {}


def _summary(event: TimelineEvent) -> tuple[str, str, str]:
    """(summary, detail, path) of an event in plain words."""
    data = event.data if isinstance(event.data, Mapping) else {}
    kind = event.kind
    path = str(data.get("path", "")) if kind in replay.FILE_EVENT_KINDS else ""
    if kind == "edit":
        return f"edited {path}", "", path
    if kind == "file_created":
        return f"created {path}", "", path
    if kind == "file_deleted":
        return f"deleted {path}", "", path
    if kind == "run":
        return "ran the visible tests", "", ""
    if kind == "run_result":
        summary = data.get("summary") or {}
        counts = ", ".join(
            f"{summary[k]} {k}" for k in ("passed", "failed", "error", "skipped") if summary.get(k)
        )
        return f"test run {data.get('state', '')}", counts, ""
    if kind == "submitted":
        return "submitted for grading", "", ""
    if kind == "joined":
        browser = str(data.get("browser") or "")
        where = f" ({browser})" if browser else ""
        if data.get("took_over") and data.get("returned"):
            return f"went back to an earlier browser{where}; the other stopped editing", "", ""
        if data.get("took_over"):
            return (
                f"opened the interview in a second browser{where}; the first stopped editing",
                "",
                "",
            )
        return f"joined{where}", "", ""
    if kind == "task_revealed":
        return f"task revealed: {data.get('title', '')}", "", ""
    if kind == "message":
        role = data.get("role") or event.actor or ""
        return f"message from {role}", str(data.get("text", "")), ""
    if kind == "note":
        return "interviewer's note", str(data.get("text", "")), ""
    if kind == "rating":
        return (
            f"rated {data.get('criterion', '')}: {data.get('level', '')}",
            str(data.get("comment", "")),
            "",
        )
    if kind == "graded":
        return f"graded: {score_text(data.get('overall'))} / 100", "", ""
    if kind == "decision":
        return f"decision: {data.get('outcome', '')}", str(data.get("comment", "")), ""
    if kind == "fault":
        told = " (the candidate was told)" if data.get("told_candidate") else ""
        scenario = str(data.get("scenario") or data.get("name") or "")
        return f"fault scenario switched{told}", scenario, ""
    if kind == "live":
        # The live preview's app: started (again, after a save), crashed, failed, stopped.
        return f"preview app {data.get('state', '')}", str(data.get("detail", "")), ""
    return kind.replace("_", " "), "", ""


def replay_view(interview: Interview, *, position: int | None = None, path: str = "") -> ReplayView:
    """The timeline with the files at `position` (default: the end) and the final diff."""
    starter = starter_files(interview.exercise)
    events = list(interview.events.order_by("at", "id"))
    start = interview.started_at or (events[0].at if events else interview.scheduled_at)
    views, changes = [], []
    for i, event in enumerate(events, start=1):
        summary, detail, event_path = _summary(event)
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
        files=replay.files_at(starter, changes, at),
        diff=replay.diff_files(starter, final),
        wanted_path=path,
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
    cards = [r.scorecard.data if r.scorecard else {} for r in rows]
    for card in cards:
        for c in card.get("criteria", []):
            cid = str(c.get("id"))
            if cid not in order:
                order[cid] = CompareRow(
                    cid,
                    str(c.get("title", cid)),
                    str(c.get("source", "")),
                    float(c.get("weight") or 0),
                    [],
                )
    for card in cards:
        found = {str(c.get("id")): c for c in card.get("criteria", [])}
        bars = {b.id: b for b in _bars(card)}
        for cid, row in order.items():
            c = found.get(cid)
            row.cells.append(
                None
                if c is None
                else CompareCell(bars[cid], c.get("level_text"), str(c.get("note", "")))
            )
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


@dataclass
class HistogramBin:
    low: int
    high: int
    count: int
    candidates: list[str]


@dataclass
class Distribution:
    exercise: Exercise
    bins: list[HistogramBin]
    scores: list[tuple[str, float, bool]]  # candidate, overall, highlighted
    median: float | None

    @property
    def peak(self) -> int:
        return max((b.count for b in self.bins), default=0)

    @property
    def total(self) -> int:
        return sum(b.count for b in self.bins)

    def chart(self) -> Chart:
        """Geometry of the histogram as inline SVG draws it (numbers only, nothing to escape)."""
        peak = max(self.peak, 1)
        step = CHART_PLOT_WIDTH / len(self.bins)
        bars = []
        for i, b in enumerate(self.bins):
            height = round(CHART_PLOT_HEIGHT * b.count / peak, 1)
            bars.append(
                ChartBar(
                    x=round(CHART_LEFT + i * step + 2, 1),
                    y=round(CHART_TOP + CHART_PLOT_HEIGHT - height, 1),
                    width=round(step - 4, 1),
                    height=height,
                    label_x=round(CHART_LEFT + i * step + step / 2, 1),
                    bin=b,
                )
            )
        # One label row per marker, so names of close scores never overlap.
        marked = sorted((score, name) for name, score, highlighted in self.scores if highlighted)
        markers = []
        for row, (score, name) in enumerate(marked):
            x = round(CHART_LEFT + CHART_PLOT_WIDTH * score / 100, 1)
            anchor = "end" if score > 70 else "start" if score < 30 else "middle"
            markers.append(
                ChartMarker(
                    x=x, name=name, score=score, label_y=CHART_LABELS_TOP + 13 * row, anchor=anchor
                )
            )
        ticks = [(round(CHART_LEFT + CHART_PLOT_WIDTH * v / 100, 1), v) for v in range(0, 101, 20)]
        height = int(CHART_LABELS_TOP + 13 * len(markers) + 6)
        return Chart(bars=bars, markers=markers, ticks=ticks, peak=peak, height=height)


CHART_LEFT, CHART_TOP = 36.0, 24.0
CHART_PLOT_WIDTH, CHART_PLOT_HEIGHT = 440.0, 120.0
CHART_WIDTH, CHART_HEIGHT = 500, 190
CHART_LABELS_TOP = CHART_TOP + CHART_PLOT_HEIGHT + 34


@dataclass
class ChartBar:
    x: float
    y: float
    width: float
    height: float
    label_x: float
    bin: HistogramBin


@dataclass
class ChartMarker:
    x: float
    name: str
    score: float
    label_y: float
    anchor: str


@dataclass
class Chart:
    bars: list[ChartBar]
    markers: list[ChartMarker]
    ticks: list[tuple[float, int]]
    peak: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: float = CHART_LEFT
    top: float = CHART_TOP
    baseline: float = CHART_TOP + CHART_PLOT_HEIGHT
    right: float = CHART_LEFT + CHART_PLOT_WIDTH


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
