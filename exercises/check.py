"""Prove an exercise is fair and sharp.

Fair: the reference solution passes every hidden test on every repetition (each with
its own seed) and passes the visible tests. Sharp: the starter fails hidden tests of
every task and scores under the manifest's threshold; each mutant lands at exactly the
level its mutant.toml expects in the criterion it names. Meaningful: every hidden test
declares the level its failure caps its criterion at (`fails_to=`), and every level
below the top of every automated criterion is the cap of at least one test, so each
anchored level text can be what a submission is shown. Flaky tests (outcome changed
between repetitions) are reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rubrics import Rubric, score

from .catalog import Exercise
from .runner import RunnerError, SuiteResult, run_hidden, run_visible

Out = Callable[[str], None]


@dataclass
class CheckResult:
    slug: str
    problems: list[str] = field(default_factory=list)
    flaky: list[str] = field(default_factory=list)
    hidden_wall_seconds: list[float] = field(default_factory=list)  # reference runs
    total_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.flaky


def _failed(suite: SuiteResult) -> list[str]:
    return [t["id"] for t in suite.report["tests"] if t["outcome"] != "passed"]


def suite_meaning_problems(rubric: Rubric, tests: list[dict[str, Any]]) -> list[str]:
    """What makes a suite's verdicts unable to mean what the rubric's levels say: a test
    without a declared cap, or a level no failure can lead to."""
    problems: list[str] = []
    for crit in rubric.criteria:
        if not crit.automated:
            continue
        mine = [t for t in tests if t.get("criterion") == crit.id]
        caps: set[int] = set()
        for t in mine:
            cap = t.get("fails_to")
            if not isinstance(cap, int) or isinstance(cap, bool):
                problems.append(
                    f"{t.get('id')} declares no level for its failure: mark it "
                    f'@pytest.mark.criterion("{crit.id}", fails_to=N), N in 0..{rubric.scale - 1}'
                )
            elif not 0 <= cap < rubric.scale:
                problems.append(
                    f"{t.get('id')} has fails_to={cap}: a failure must cap {crit.id} "
                    f"at a level in 0..{rubric.scale - 1}"
                )
            else:
                caps.add(0 if not crit.partial_credit else cap)
        for level in range(rubric.scale):
            if mine and level not in caps:
                problems.append(
                    f"{crit.id} level {level} ({crit.levels.get(level, '')!r}) is unreachable: "
                    f"no hidden test fails to it"
                )
    return problems


def spec_map(exercise: Exercise, tests: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The spec map as printable lines, and its problems: a hidden test that enforces no
    sentence of the task texts (a requirement the candidate was never told), one that
    names a sentence the map does not have, and a sentence no test enforces (unless the
    interviewer judges it)."""
    enforced: dict[str, list[str]] = {s.id: [] for s in exercise.spec}
    problems: list[str] = []
    for t in tests:
        ids = [str(i) for i in t.get("spec") or []]
        if not ids:
            problems.append(
                f"{t.get('id')} enforces no sentence of the task texts: name the one it "
                f'checks with @pytest.mark.spec("<id>") (see spec.toml), or drop the demand'
            )
        for sid in ids:
            if sid not in enforced:
                problems.append(f"{t.get('id')} names {sid!r}, which spec.toml does not have")
            else:
                enforced[sid].append(str(t.get("id")))
    lines: list[str] = []
    for sentence in exercise.spec:
        by = enforced[sentence.id]
        if by:
            who = ", ".join(by)
        elif sentence.judged:
            who = f"(judged by the {sentence.judged})"
        else:
            who = "NO TEST"
            problems.append(
                f"sentence {sentence.id} has no hidden test: {sentence.text[:100]!r} "
                '(test it, or mark it judged = "interviewer")'
            )
        lines.append(f"  {sentence.id}: {sentence.text[:70]!r} <- {who}")
    untested = sum(1 for s in exercise.spec if not enforced[s.id] and not s.judged)
    lines.insert(
        0,
        f"spec map: {len(exercise.spec)} sentences, {len(tests)} tests, "
        f"{untested} sentences with no test, "
        f"{sum(1 for s in exercise.spec if s.judged)} judged by the interviewer",
    )
    return lines, problems


def mutant_coverage(exercise: Exercise) -> tuple[str, list[str]]:
    """How many tested sentences of the spec map a mutant breaks (`spec = [...]` in its
    mutant.toml), and a problem for each that none does: a sentence no known-wrong
    variant breaks is one the suite was never shown to catch."""
    broken = {sid for m in exercise.mutants for sid in m.spec}
    tested = [s for s in exercise.spec if not s.judged]
    missing = [s for s in tested if s.id not in broken]
    line = (
        f"mutants by the spec map: {len(tested) - len(missing)} of {len(tested)} tested "
        "sentences have a mutant that breaks them"
    )
    problems = [
        f"sentence {s.id} has no mutant that breaks it: {s.text[:100]!r} (add a plausible "
        f"wrong solution under mutants/ with spec = [{s.id!r}] in its mutant.toml)"
        for s in missing
    ]
    return line, problems


def check_exercise(
    exercise: Exercise,
    *,
    repeat: int = 1,
    backend: str | None = None,
    out: Out = print,
    sharp: bool = True,
) -> CheckResult:
    """Run every check; `out` receives one progress line at a time.

    `sharp=False` runs only the reference's checks (fair: it passes every time). The
    starter's and the mutants' verdicts are deterministic: one backend proving them is enough.
    """
    result = CheckResult(exercise.slug)
    started = time.monotonic()
    out(f"== {exercise.slug}  (version {exercise.version_hash}, rubric {exercise.rubric.version})")
    out("manifest and rubric: valid")

    def problem(text: str) -> None:
        result.problems.append(text)
        out(f"FAIL {text}")

    def hidden(
        files: dict[str, bytes], label: str, seed: int | None = None, criterion: str | None = None
    ) -> SuiteResult | None:
        try:
            return run_hidden(exercise, files, backend=backend, seed=seed, criterion=criterion)
        except RunnerError as exc:
            problem(f"{label}: no report: {exc}")
            return None

    solution = exercise.solution_files()
    history: dict[str, set[str]] = {}
    declared: list[dict[str, Any]] | None = None  # what each test says its failure means
    for i in range(repeat):
        seed = exercise.seed + i
        suite = hidden(solution, f"reference run {i + 1}", seed)
        if suite is None:
            continue
        result.hidden_wall_seconds.append(suite.wall_seconds)
        if declared is None:
            declared = list(suite.report["tests"])
        for tid, outcome in suite.outcomes().items():
            history.setdefault(tid, set()).add(outcome)
        failed = _failed(suite)
        status = "ok" if not failed else f"FAILED {', '.join(failed)}"
        out(
            f"reference hidden run {i + 1}/{repeat} (seed {seed}): "
            f"{len(suite.report['tests'])} tests, {suite.wall_seconds:.2f} s, {status}"
        )
        if failed:
            problem(f"reference fails hidden tests on run {i + 1}: {', '.join(failed)}")
    result.flaky = sorted(tid for tid, seen in history.items() if len(seen) > 1)
    for tid in result.flaky:
        out(f"FLAKY {tid}: {sorted(history[tid])}")
    if declared is not None:
        for text in suite_meaning_problems(exercise.rubric, declared):
            problem(f"suite: {text}")
        if exercise.spec:
            lines, spec_problems = spec_map(exercise, declared)
            for line in lines:
                out(line)
            for text in spec_problems:
                problem(f"spec map: {text}")
        else:
            out("spec map: none yet (no spec.toml)")

    try:
        visible = run_visible(exercise, solution, backend=backend)
        failed = _failed(visible)
        out(
            f"reference visible tests: {len(visible.report['tests'])} tests, "
            f"{visible.wall_seconds:.2f} s, {'ok' if not failed else 'FAILED ' + ', '.join(failed)}"
        )
        if failed:
            problem(f"reference fails visible tests: {', '.join(failed)}")
    except RunnerError as exc:
        problem(f"visible tests on the reference: no report: {exc}")

    if sharp:
        _check_sharp(exercise, hidden, problem, out)
    else:
        out("starter and mutants: not run (reference only: their verdicts are deterministic)")

    result.total_seconds = round(time.monotonic() - started, 2)
    walls = result.hidden_wall_seconds
    if walls:
        out(
            f"timings: reference hidden run min {min(walls):.2f} s, max {max(walls):.2f} s, "
            f"mean {sum(walls) / len(walls):.2f} s; check total {result.total_seconds:.1f} s"
        )
    out(f"{exercise.slug}: {'OK' if result.ok else 'FAILED'}")
    return result


def _check_sharp(
    exercise: Exercise,
    hidden: Callable[..., SuiteResult | None],
    problem: Out,
    out: Out,
) -> None:
    """Sharp: the starter scores under its threshold and each mutant lands at its level."""
    starter = hidden(exercise.starter_files(), "starter")
    if starter is not None:
        card = score(exercise.rubric, starter.report)
        out(
            f"starter: overall {card.overall}, failed {len(_failed(starter))} "
            f"of {len(starter.report['tests'])} hidden tests"
        )
        if card.overall is None or card.overall >= exercise.starter_max_overall:
            problem(
                f"starter scores {card.overall}, expected under {exercise.starter_max_overall:g}"
            )
        failing = {t["criterion"] for t in starter.report["tests"] if t["outcome"] != "passed"}
        for task in exercise.tasks:
            if not failing & set(task.criteria):
                problem(
                    f"starter passes every hidden test of task {task.id!r} "
                    f"({', '.join(task.criteria)})"
                )

    # A mutant's verdict is its level in the criterion it names, which only that criterion's
    # tests decide: the rest of the suite is not run for it (most of a check's time was that).
    for mutant in exercise.mutants:
        suite = hidden(
            exercise.mutant_files(mutant.name), f"mutant {mutant.name}", criterion=mutant.criterion
        )
        if suite is None:
            continue
        card = score(exercise.rubric, suite.report)
        crit = card.criterion(mutant.criterion)
        landed = crit.level == mutant.level
        critical = ""
        if card.critical:
            texts = dict.fromkeys(f.text for f in card.critical)
            critical = f"; CRITICAL {'; '.join(texts)}"
        out(
            f"mutant {mutant.name}: {mutant.criterion} level {crit.level}/{crit.max} "
            f"(expected {mutant.level}) {'ok' if landed else 'WRONG LEVEL'}"
            f"{critical} ({crit.note})"
        )
        if not landed:
            problem(
                f"mutant {mutant.name} lands at {mutant.criterion} level {crit.level}, "
                f"expected {mutant.level} ({crit.note})"
            )
    if exercise.spec:
        line, problems = mutant_coverage(exercise)
        out(line)
        for text in problems:
            problem(f"spec map: {text}")
