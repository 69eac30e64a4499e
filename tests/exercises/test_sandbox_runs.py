"""The real check and grading through the real sandbox, on each backend.

Slow: every case starts sandboxes. CI proves every exercise fair and sharp with
`manage.py check_exercise --all --repeat 10` on each backend, in steps of its own.
"""

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exercises import catalog
from exercises.__main__ import check_main
from exercises.catalog import read_tree
from exercises.grading import grade_files
from exercises.patches import make_patch
from exercises.runner import run_hidden, run_visible
from tests.requirements import require_bwrap, require_docker

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["bwrap", "docker"])
def backend(request):
    if request.param == "bwrap":
        require_bwrap()
    else:
        require_docker()
    return request.param


@pytest.fixture(scope="module")
def exercise():
    return catalog.find("add-metadata")


def _small_copy(root: Path, slug: str, mutant: str | None) -> None:
    """add-metadata as `slug` with one mutant: `mutant`, or (None) one that changes nothing.
    Without its spec map: one mutant cannot break every sentence, which check requires."""
    target = root / slug
    source = REPO / "exercises" / "add-metadata"
    ignore = shutil.ignore_patterns("__pycache__", "mutants", "spec.toml")
    shutil.copytree(source, target, ignore=ignore)
    manifest = target / "exercise.toml"
    manifest.write_text(manifest.read_text().replace('slug = "add-metadata"', f'slug = "{slug}"'))
    if mutant is not None:
        shutil.copytree(source / "mutants" / mutant, target / "mutants" / mutant)
        toml = target / "mutants" / mutant / "mutant.toml"
        lines = toml.read_text().splitlines(keepends=True)
        toml.write_text("".join(line for line in lines if not line.startswith("spec")))
        return
    blunt = target / "mutants" / "changes-nothing"
    blunt.mkdir(parents=True)
    (blunt / "mutant.toml").write_text(
        'criterion = "correctness"\nlevel = 0\ndescription = "only adds a comment"\n'
    )
    solution = read_tree(source / "solution")
    commented = solution["app/main.py"] + b"\n# only a comment\n"
    (blunt / "mutant.patch").write_text(
        make_patch(solution, {**solution, "app/main.py": commented})
    )


def test_check_reports_each_exercise_in_one_block_and_fails_on_a_blunt_mutant(tmp_path):
    # The behaviour of `check` itself, on two small exercises checked at once
    # (CI runs the real thing on every exercise, both backends, --repeat 10).
    require_bwrap()
    _small_copy(tmp_path, "blunt", None)
    _small_copy(tmp_path, "sharp", "old-field-removed")
    lines: list[str] = []
    status = check_main(
        [], all_=True, repeat=2, backend="bwrap", root=tmp_path, out=lines.append, jobs=2
    )
    assert status == 1, "\n".join(lines)
    starts = [i for i, line in enumerate(lines) if line.startswith("== ")]
    assert [lines[i].split()[1] for i in starts] == ["blunt", "sharp"]
    blunt, sharp = lines[starts[0] : starts[1]], lines[starts[1] :]
    assert blunt[-1] == "blunt: FAILED" and sharp[-1] == "sharp: OK", "\n".join(lines)
    assert "FAIL mutant changes-nothing lands at correctness level 3, expected 0" in "\n".join(
        blunt
    )
    for block in (blunt, sharp):
        assert sum(line.startswith("reference hidden run ") for line in block) == 2
        assert sum(line.startswith("mutant ") for line in block) == 1
        assert any(line.startswith("starter: overall") for line in block)
    assert any(
        line.startswith("mutant old-field-removed: correctness") and "(expected 0) ok" in line
        for line in sharp
    )


def test_check_reference_only_proves_the_reference_and_grades_no_starter_or_mutant(tmp_path):
    # CI's second backend: the reference ten times; mutant verdicts are the first backend's.
    require_bwrap()
    _small_copy(tmp_path, "blunt", None)
    lines: list[str] = []
    status = check_main(
        ["blunt"], repeat=1, backend="bwrap", root=tmp_path, out=lines.append, sharp=False
    )
    assert status == 0, "\n".join(lines)
    assert sum(line.startswith("reference hidden run ") for line in lines) == 1
    assert not any(line.startswith(("mutant ", "starter:")) for line in lines), "\n".join(lines)
    assert (
        "starter and mutants: not run (reference only: their verdicts are deterministic)" in lines
    )
    assert lines[-1] == "blunt: OK"


def test_html_injection_is_a_critical_fault_that_caps_the_overall(exercise, backend):
    result = grade_files(exercise, exercise.mutant_files("frontend-injects-html"), backend=backend)
    card = result.scorecard
    crit = card.criterion("frontend-robustness")
    assert (crit.level, crit.level_text) == (0, exercise.rubric.criterion(crit.id).levels[0])
    assert [f.text for f in card.critical] == [
        "Renders text from the server as HTML (script injection)"
    ]
    assert card.uncapped_overall is not None and card.uncapped_overall > 60
    assert card.overall == exercise.rubric.critical_cap == 60.0


def test_results_stream_live_as_lines(exercise, backend):
    lines: list[str] = []
    suite = run_hidden(exercise, exercise.solution_files(), backend=backend, on_line=lines.append)
    streamed = [json.loads(x.split(" ", 1)[1]) for x in lines if x.startswith("FAULTLINE-TEST ")]
    # Each test once, as it finishes: with several workers they finish out of report order.
    ids = [t["id"] for t in streamed]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(t["id"] for t in suite.report["tests"])
    first = streamed[0]
    assert set(first) == {
        "id",
        "title",
        "criterion",
        "fails_to",
        "critical",
        "spec",
        "outcome",
        "duration",
        "output",
    }
    assert suite.report["summary"]["passed"] == len(streamed)


def test_a_hidden_run_limited_to_one_criterion_runs_only_its_tests(exercise, backend):
    # What the exercise check grades a mutant with: the criterion whose level it checks.
    whole = run_hidden(exercise, exercise.solution_files(), backend=backend).report["tests"]
    full = {t["id"] for t in whole if t["criterion"] == "error-handling"}
    assert 0 < len(full) < len(whole)
    suite = run_hidden(exercise, exercise.solution_files(), backend=backend,
                       criterion="error-handling")  # fmt: skip
    ran = [t for t in suite.report["tests"] if t["outcome"] == "passed"]
    assert {t["id"] for t in suite.report["tests"]} == {t["id"] for t in ran} == full


def test_app_that_cannot_start_is_the_candidates_failure(exercise, backend):
    quick = dataclasses.replace(
        exercise, app=dataclasses.replace(exercise.app, start_timeout_seconds=3)
    )
    files = dict(exercise.solution_files())
    files["app/main.py"] = b"this is not python\n"
    result = grade_files(quick, files, backend=backend)
    assert result.scorecard.criterion("correctness").score == 0.0
    failing = [t for t in result.suite.report["tests"] if t["criterion"] == "correctness"]
    assert all(t["outcome"] == "error" for t in failing)
    assert "did not answer" in failing[0]["output"]


def test_visible_tests_run_in_the_candidate_workspace(exercise, backend):
    starter = run_visible(exercise, exercise.starter_files(), backend=backend)
    assert starter.outcomes() == {
        "test_visible.py::test_answer_keeps_old_fields": "passed",
        "test_visible.py::test_answer_has_model_metadata": "failed",
    }


def test_hidden_tests_never_reach_the_app(exercise, backend):
    spec_files = dict(exercise.solution_files())
    # A candidate who looks for the hidden tests from inside the app finds nothing.
    spec_files["app/peek.py"] = (
        b"import os\nFOUND = [p for p in ('/tester', '../tests/hidden') if os.path.exists(p)]\n"
    )
    main = spec_files["app/main.py"].decode()
    spec_files["app/main.py"] = (
        main.replace(
            '    return {"ok": True}',
            '    from .peek import FOUND\n\n    return {"ok": not FOUND}',
        )
    ).encode()
    result = grade_files(exercise, spec_files, backend=backend)
    assert result.scorecard.overall == 100.0


def test_cli_grade_json(exercise):
    require_bwrap()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "exercises",
            "grade",
            "--exercise",
            "add-metadata",
            "--files",
            str(exercise.path / "starter"),
            "--backend",
            "bwrap",
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["overall"] < 60
    assert data["rubric_version"] == exercise.rubric.version
    assert {"id", "score", "max", "evidence"} <= set(data["criteria"][0])
    assert {"id", "outcome", "criterion", "duration"} <= set(data["tests"][0])


def test_cli_check_fails_on_a_broken_exercise(tmp_path):
    import shutil

    shutil.copytree(REPO / "exercises" / "add-metadata", tmp_path / "add-metadata")
    manifest = tmp_path / "add-metadata" / "exercise.toml"
    manifest.write_text(manifest.read_text().replace('difficulty = "easy"', 'difficulty = "meh"'))
    proc = subprocess.run(
        [sys.executable, "-m", "exercises", "--root", str(tmp_path), "check", "add-metadata"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "exercise.difficulty: is 'meh'" in proc.stdout


def test_candidate_pytest_config_does_not_shape_the_visible_run(exercise, backend):
    files = dict(exercise.solution_files())
    files["conftest.py"] = b"def pytest_collection_modifyitems(items):\n    items.clear()\n"
    files["pyproject.toml"] = b'[tool.pytest.ini_options]\naddopts = "-k nothing"\n'
    suite = run_visible(exercise, files, backend=backend)
    assert set(suite.outcomes().values()) == {"passed"} and len(suite.outcomes()) == 2


def test_a_suite_stopped_at_its_time_limit_counts_what_it_never_finished(exercise, backend):
    # An app that hangs on every answer keeps each test waiting; the suite is stopped at
    # its limit. The tests it never reached count against the candidate, with the reason,
    # instead of dropping out of the scorecard.
    short = dataclasses.replace(exercise, wall_seconds=8.0)
    files = dict(exercise.solution_files())
    main = files["app/main.py"].decode()
    hang = "    import asyncio\n\n    await asyncio.sleep(3600)\n"
    files["app/main.py"] = main.replace(
        "async def answer(body: AskRequest, request: Request) -> AnswerResponse:\n",
        "async def answer(body: AskRequest, request: Request) -> AnswerResponse:\n" + hang,
    ).encode()
    assert files["app/main.py"] != exercise.solution_files()["app/main.py"]
    result = grade_files(short, files, backend=backend)
    tests = result.suite.report["tests"]
    assert len(tests) == len(
        run_hidden(exercise, exercise.solution_files(), backend=backend).report["tests"]
    )
    unfinished = [t for t in tests if t["output"].startswith("did not finish")]
    assert unfinished and all(t["outcome"] == "error" for t in unfinished)
    assert "stopped at its 8 s time limit" in unfinished[0]["output"]
    automated = [c for c in result.scorecard.criteria if c.source == "automated"]
    assert all(c.score is not None for c in automated)  # none dropped for lack of evidence
    assert result.scorecard.criterion("correctness").score == 0.0


# Candidate browser code that the hidden suite runs in node (as the tester, beside the
# hidden tests and the report) and that tries to turn that into a passing scorecard.
FORGING_SCRIPT = r"""
const host = this.constructor.constructor("return process")();
const fs = host.mainModule.require("fs");
const { spawn } = host.mainModule.require("child_process");
const forged = JSON.stringify({ tests: [], summary: { passed: 99, failed: 0 }, forged: true });
const attempt = (f) => { try { f(); } catch (e) {} };
let leak = "";
attempt(() => { leak = "HIDDEN-LEAK " + fs.readdirSync("/tester/tests").join(" "); });
attempt(() => fs.writeFileSync(host.env.FAULTLINE_REPORT_DIR + "/report.json", forged));
const line = '\nFAULTLINE-TEST {"id": "forged", "outcome": "passed"}\n';
for (const target of ["/proc/1/fd/1", "/proc/" + host.ppid + "/fd/1"]) {
  attempt(() => fs.writeFileSync(target, line));
}
// Outlive node and keep overwriting the report until pytest has written its own.
attempt(() => spawn("/bin/sh", ["-c", 'while :; do echo "$0" > "$1/report.json"; done',
  forged, host.env.FAULTLINE_REPORT_DIR], { detached: true, stdio: "ignore" }).unref());
attempt(() => host.kill(host.ppid, "SIGKILL"));
function renderAnswer(data) { return leak; }
"""


def test_candidate_script_in_the_hidden_suite_cannot_forge_or_peek(exercise, backend):
    files = dict(exercise.solution_files())
    files["static/app.js"] = FORGING_SCRIPT.encode()
    result = grade_files(exercise, files, backend=backend)
    report = result.suite.report
    assert not report.get("forged") and report["summary"]["passed"] != 99
    tests = {t["id"]: t for t in report["tests"]}
    assert "forged" not in tests
    # The script ran (its page is empty: the card shows nothing) and failed on its merits.
    assert tests["test_frontend.py::test_shows_metadata"]["outcome"] == "failed"
    assert not any("HIDDEN-LEAK" in t["output"] for t in tests.values())
    # pytest lived on (it was not killed): the API tests still ran and passed.
    correctness = result.scorecard.criterion("correctness")
    assert correctness.score == correctness.max
    crit = result.scorecard.criterion("frontend-robustness")
    assert crit.score is not None and crit.score < crit.max
