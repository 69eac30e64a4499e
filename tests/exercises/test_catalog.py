"""The exercise catalog: real exercises load; broken ones are refused precisely."""

import dataclasses
import shutil
import textwrap
from pathlib import Path

import pytest

from exercises import catalog, console_features
from exercises.runner import run_hidden, run_visible
from rubrics import SchemaError
from tests.requirements import require_bwrap

ROOT = Path(catalog.__file__).resolve().parent


@pytest.fixture
def copy(tmp_path):
    """A private copy of add-metadata to break."""
    target = tmp_path / "add-metadata"
    shutil.copytree(ROOT / "add-metadata", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def problems(folder: Path) -> list[str]:
    with pytest.raises(SchemaError) as info:
        catalog.load(folder)
    return [str(i) for i in info.value.issues]


def test_load_all_finds_add_metadata():
    (exercise,) = [e for e in catalog.load_all(ROOT) if e.slug == "add-metadata"]
    assert exercise.title and exercise.summary and exercise.difficulty == "easy"
    assert [t.id for t in exercise.tasks] == ["metadata", "show-metadata"]
    assert exercise.tasks[0].body.startswith("The data team")
    assert exercise.pm_script()["tasks"][0]["hints"]
    assert len(exercise.mutants) >= 5
    assert "app/main.py" in exercise.starter_files()
    assert "static/app.js" in exercise.starter_files()
    assert exercise.app.command(8000)[-1] == "8000"


def test_mutant_files_are_the_solution_with_the_patch_applied():
    exercise = catalog.find("add-metadata", ROOT)
    solution = exercise.solution_files()
    mutant = exercise.mutant_files("naive-datetime")
    assert set(mutant) == set(solution)
    changed = [k for k in mutant if mutant[k] != solution[k]]
    assert changed == ["app/models.py"]


def test_version_hash_changes_with_any_file(copy):
    before = catalog.load(copy).version_hash
    assert catalog.load(copy).version_hash == before
    (copy / "tests" / "hidden" / "test_faults.py").write_text(
        (copy / "tests" / "hidden" / "test_faults.py").read_text() + "\n# edited\n"
    )
    assert catalog.load(copy).version_hash != before


def test_version_hash_changes_with_the_kit_the_suites_run_with(copy, tmp_path, monkeypatch):
    kit = tmp_path / "faultkit"
    shutil.copytree(catalog.KIT_DIR, kit, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(catalog, "KIT_DIR", kit)
    before = catalog.load(copy).version_hash
    (kit / "faults.py").write_text((kit / "faults.py").read_text() + "\n# edited\n")
    assert catalog.load(copy).version_hash != before


def test_build_litter_does_not_change_the_hash(copy):
    before = catalog.load(copy).version_hash
    (copy / "solution" / "app" / "__pycache__").mkdir()
    (copy / "solution" / "app" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"x")
    assert catalog.load(copy).version_hash == before


def test_slug_must_match_folder(copy):
    edit(copy / "exercise.toml", 'slug = "add-metadata"', 'slug = "add-meta"')
    assert problems(copy) == [
        "add-metadata/exercise.toml: exercise.slug: is 'add-meta' but the folder is "
        "'add-metadata' (expected the folder name)"
    ]


def test_bad_difficulty_and_time_box_reported_together(copy):
    edit(copy / "exercise.toml", 'difficulty = "easy"', 'difficulty = "trivial"')
    edit(copy / "exercise.toml", "time_box_minutes = 45", "time_box_minutes = 2")
    assert problems(copy) == [
        "add-metadata/exercise.toml: exercise.difficulty: is 'trivial' "
        "(expected one of easy, medium, hard)",
        "add-metadata/exercise.toml: exercise.time_box_minutes: is 2 (expected minutes, 5 to 240)",
    ]


def test_start_command_must_take_the_port(copy):
    edit(copy / "exercise.toml", '"--port", "{app_port}"', '"--port", "8000"')
    assert problems(copy) == [
        "add-metadata/exercise.toml: app.start: never mentions {app_port} "
        "(expected the port given as {app_port})"
    ]


def test_task_with_unknown_criterion(copy):
    edit(copy / "exercise.toml", 'criteria = ["frontend-robustness"]', 'criteria = ["frontend"]')
    (problem,) = problems(copy)
    assert problem.startswith(
        "add-metadata/exercise.toml: tasks[1].criteria: 'frontend' is not in the rubric"
    )


def test_wrong_type_is_named(copy):
    edit(copy / "exercise.toml", "time_box_minutes = 45", 'time_box_minutes = "45"')
    assert problems(copy) == [
        "add-metadata/exercise.toml: exercise.time_box_minutes: is the string '45' "
        "(expected minutes, 5 to 240)"
    ]


def test_missing_rubric_file(copy):
    (copy / "rubric.toml").unlink()
    assert problems(copy) == [
        "add-metadata/rubric.toml: (file): does not exist (expected a TOML file)"
    ]


def test_rubric_errors_surface_through_the_manifest(copy):
    edit(copy / "rubric.toml", "weight = 3", "weight = 0")
    assert problems(copy) == [
        "add-metadata/rubric.toml: criteria[correctness].weight: is 0 (expected a positive number)"
    ]


def test_hidden_test_marked_with_unknown_criterion(copy):
    suite = copy / "tests" / "hidden" / "test_frontend.py"
    suite.write_text(
        suite.read_text().replace('criterion("frontend-robustness"', 'criterion("frontend"')
    )
    found = problems(copy)
    assert (
        'add-metadata/tests/hidden/test_frontend.py: criterion("frontend"): names a criterion '
        "the rubric does not have (expected one of communication, correctness, data-modelling, "
        "error-handling, frontend-robustness, product-sense)"
    ) in found
    assert any(
        "criterion 'frontend-robustness': no hidden test is marked with it" in f for f in found
    )


def test_mutant_must_name_an_automated_criterion(copy):
    edit(copy / "mutants" / "naive-datetime" / "mutant.toml", '"data-modelling"', '"communication"')
    assert problems(copy) == [
        "add-metadata/mutants/naive-datetime/mutant.toml: criterion: 'communication' is "
        "interviewer-rated (expected an automated criterion)"
    ]


def test_mutant_patch_must_change_only_solution_files(copy):
    patch = copy / "mutants" / "naive-datetime" / "mutant.patch"
    patch.write_text(patch.read_text().replace("--- a/app/models.py", "--- a/app/extra.py"))
    assert problems(copy) == [
        "add-metadata/mutants/naive-datetime/mutant.patch: line 2: renames 'app/extra.py' to "
        "'app/models.py' (a rename is not supported) (expected a patch that applies to "
        "solution/ exactly, with no offset or fuzz)"
    ]
    patch.write_text(patch.read_text().replace("+++ b/app/models.py", "+++ b/app/extra.py"))
    assert problems(copy) == [
        "add-metadata/mutants/naive-datetime/mutant.patch: line 2: app/extra.py is not a file "
        "of solution/ (expected a patch that applies to solution/ exactly, with no offset or fuzz)"
    ]


def test_missing_solution_folder(copy):
    shutil.rmtree(copy / "solution")
    found = problems(copy)
    assert (
        "add-metadata/exercise.toml: (solution/): is missing or empty "
        "(expected a solution/ folder with files)" in found
    )


def test_load_all_collects_problems_of_every_exercise(tmp_path, copy):
    second = tmp_path / "second"
    shutil.copytree(copy, second)
    edit(copy / "exercise.toml", 'difficulty = "easy"', 'difficulty = "x"')
    edit(second / "exercise.toml", 'difficulty = "easy"', 'difficulty = "y"')
    with pytest.raises(SchemaError) as info:
        catalog.load_all(tmp_path)
    files = {i.file for i in info.value.issues}
    assert files == {"add-metadata/exercise.toml", "second/exercise.toml"}


def test_find_unknown_slug_lists_known_ones():
    with pytest.raises(KeyError, match=r"known: .*add-metadata"):
        catalog.find("nope", ROOT)


def test_shared_rubric_outside_the_folder(tmp_path, copy):
    shared = tmp_path / "rubrics" / "fault-first.toml"
    shared.parent.mkdir()
    (copy / "rubric.toml").rename(shared)
    edit(copy / "exercise.toml", 'rubric = "rubric.toml"', 'rubric = "../rubrics/fault-first.toml"')
    exercise = catalog.load(copy)
    assert exercise.rubric.id == "add-metadata"
    before = exercise.version_hash
    edit(shared, "weight = 3", "weight = 4")
    assert catalog.load(copy).version_hash != before


# -- [app] env --


def add_app_env(folder: Path, table: str) -> None:
    """Append an [app.env] table (TOML text) to the manifest's [app] section."""
    edit(
        folder / "exercise.toml",
        "start_timeout_seconds = 20\n",
        f"start_timeout_seconds = 20\n{table}",
    )


def test_app_env_is_loaded_as_strings(copy):
    add_app_env(copy, '[app.env]\nLLM_TIMEOUT_SECONDS = "2"\nGREETING = "a b=c"\n')
    exercise = catalog.load(copy)
    assert dict(exercise.app.env) == {"LLM_TIMEOUT_SECONDS": "2", "GREETING": "a b=c"}
    assert exercise.app.start[0] == "python3"


def test_app_env_defaults_to_nothing():
    assert dict(catalog.find("add-metadata", ROOT).app.env) == {}


def test_app_env_moved_out_of_the_start_commands():
    """job-state and sync-to-streaming set their knobs through [app] env, not `env X=Y`."""
    job = catalog.find("job-state", ROOT)
    assert job.app.start[0] == "python3"
    assert job.app.env["EXTRACT_MAX_ACTIVE"] == "3"
    assert job.app.env["EXTRACT_JOB_TIMEOUT_SECONDS"] == "2"
    streaming = catalog.find("sync-to-streaming", ROOT)
    assert streaming.app.start[0] == "python3"
    assert dict(streaming.app.env) == {"LLM_TIMEOUT_SECONDS": "2"}


def test_app_env_values_must_be_strings(copy):
    add_app_env(copy, "[app.env]\nLLM_TIMEOUT_SECONDS = 2\nDEBUG = true\nLIST = [1]\n")
    assert problems(copy) == [
        "add-metadata/exercise.toml: app.env.LLM_TIMEOUT_SECONDS: is int 2 "
        '(expected a string (quote numbers: "2"))',
        "add-metadata/exercise.toml: app.env.DEBUG: is bool True "
        '(expected a string (quote numbers: "2"))',
        "add-metadata/exercise.toml: app.env.LIST: is list [1] "
        '(expected a string (quote numbers: "2"))',
    ]


def test_app_env_names_must_be_env_var_names(copy):
    add_app_env(copy, '[app.env]\n"1ST" = "x"\n"MY-VAR" = "x"\n"A B" = "x"\nOK_2 = "x"\n')
    expected = "(expected letters, digits and '_', not starting with a digit)"
    assert problems(copy) == [
        f"add-metadata/exercise.toml: app.env.1ST: '1ST' is not an environment variable name "
        f"{expected}",
        f"add-metadata/exercise.toml: app.env.MY-VAR: 'MY-VAR' is not an environment variable "
        f"name {expected}",
        f"add-metadata/exercise.toml: app.env.A B: 'A B' is not an environment variable name "
        f"{expected}",
    ]


@pytest.mark.parametrize(
    "name", ["PATH", "HOME", "LANG", "PYTHONPATH", "LLM_BASE_URL", "FAULTLINE_APP_COMMAND"]
)
def test_app_env_refuses_names_the_runner_sets(copy, name):
    add_app_env(copy, f'[app.env]\n{name} = "/evil"\n')
    assert problems(copy) == [
        f"add-metadata/exercise.toml: app.env.{name}: is set by the runner (expected a name "
        "other than HOME, LANG, LLM_BASE_URL, PATH, PYTHONDONTWRITEBYTECODE, PYTHONPATH and "
        "FAULTLINE_*)"
    ]


def test_app_env_must_be_a_table(copy):
    edit(
        copy / "exercise.toml",
        "start_timeout_seconds = 20\n",
        'start_timeout_seconds = 20\nenv = ["A=1"]\n',
    )
    assert problems(copy) == [
        "add-metadata/exercise.toml: app.env: is a list "
        '(expected a table of NAME = "value" strings)'
    ]


PROBE_APP = textwrap.dedent(
    """\
    import json, os, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(dict(os.environ)).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
    """
)
PROBE_TEST = textwrap.dedent(
    """\
    import os

    import pytest

    @pytest.mark.criterion("correctness")
    def test_app_env(app):
        env = app.get("/env").json()
        assert env["PROBE_GREETING"] == "hello, world = 1"
        assert env["PROBE_EMPTY"] == ""
        assert env["LLM_BASE_URL"].startswith("http://127.0.0.1:")
        assert env["LLM_BASE_URL"].endswith("/v1")
        assert not any(k.startswith("FAULTLINE_") for k in env), sorted(env)
        # The app's env is the app's: the test process does not get it.
        assert "PROBE_GREETING" not in os.environ
    """
)


@pytest.mark.slow
@pytest.mark.integration
def test_app_receives_its_env_in_hidden_and_visible_runs(copy):
    """Through the real sandbox: the app party gets [app] env in both kinds of run."""
    require_bwrap()
    edit(
        copy / "exercise.toml",
        'start = ["python3", "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", '
        '"--port", "{app_port}"]',
        'start = ["python3", "probe.py", "{app_port}"]',
    )
    add_app_env(copy, '[app.env]\nPROBE_GREETING = "hello, world = 1"\nPROBE_EMPTY = ""\n')
    exercise = catalog.load(copy)
    # Swap the suites for the probe (after loading: the probe marks one criterion only).
    for suite in ("hidden", "visible"):
        folder = copy / "tests" / suite
        shutil.rmtree(folder)
        folder.mkdir()
        (folder / "test_probe.py").write_text(PROBE_TEST)
    files = {"probe.py": PROBE_APP.encode()}
    for result in (
        run_hidden(exercise, files, backend="bwrap"),
        run_visible(exercise, files, backend="bwrap"),
    ):
        assert result.outcomes() == {"test_probe.py::test_app_env": "passed"}, result.report[
            "tests"
        ][0]["output"]


ALONE_PROBE_TEST = textwrap.dedent(
    """\
    import tempfile, time
    from pathlib import Path

    import pytest

    MARKS = Path(tempfile.gettempdir()) / "alone-probe"

    @pytest.mark.criterion("correctness")
    def test_heavy(app):
        # Collected first, it runs last: every other test has started and ended.
        assert sorted(p.name for p in MARKS.iterdir()) == [f"{n}.ended" for n in range(4)]

    @pytest.mark.criterion("correctness")
    @pytest.mark.parametrize("n", range(4))
    def test_light(n, app):
        MARKS.mkdir(exist_ok=True)
        mark = MARKS / f"{n}.started"
        mark.touch()
        time.sleep(0.2)
        mark.rename(MARKS / f"{n}.ended")
    """
)


@pytest.mark.slow
@pytest.mark.integration
def test_tests_that_run_alone_run_after_every_other_worker_in_a_hidden_run(copy):
    """Through the real sandbox: [tests] alone reaches the tester's workers."""
    require_bwrap()
    exercise = catalog.load(copy)
    # Swap the suite for the probe (after loading: the probe marks one criterion only).
    folder = copy / "tests" / "hidden"
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "test_a.py").write_text(ALONE_PROBE_TEST)
    exercise = dataclasses.replace(exercise, alone=("test_a.py::test_heavy",))
    result = run_hidden(exercise, exercise.solution_files(), backend="bwrap")
    assert set(result.outcomes().values()) == {"passed"}, result.report["tests"]
    assert result.report["summary"]["workers"] == 2


def test_pm_script_naming_a_console_feature_that_does_not_exist_is_refused(copy):
    edit(
        copy / "exercise.toml",
        '"Where would you start a timer',
        '"Have them curl the stream. Where would you start a timer',
    )
    edit(
        copy / "exercise.toml",
        "Start with task 1;",
        "Open two tabs, close one. Start with task 1;",
    )
    assert problems(copy) == [
        "add-metadata/exercise.toml: pm.intro: names 'Open two tabs': opening the candidate's "
        "app in a browser or sending it requests by hand does not exist (console feature "
        "'open-the-app') (expected " + console_features.offered() + ")",
        "add-metadata/exercise.toml: tasks[0].pm.hints[1] (task 'metadata'): names "
        "'curl': a terminal: running commands such as curl, python -m or uvicorn by hand "
        "does not exist (console feature 'shell') (expected " + console_features.offered() + ")",
    ]


@pytest.mark.parametrize(
    ("phrase", "feature"),
    [
        ("Try `curl -N localhost:8000/api/answer/stream`.", "shell"),
        ("Start `python -m exercises.faultkit.serve` first.", "shell"),
        ("Open two tabs, close one.", "open-the-app"),
        ("Then look at GET /debug/tasks.", "open-the-app"),
        ("and open http://127.0.0.1:8000/.", "open-the-app"),
    ],
)
def test_each_missing_console_feature_is_recognised(phrase, feature):
    assert feature in [m.feature.id for m in console_features.missing_features(phrase)]


@pytest.mark.parametrize(
    "phrase",
    [
        "Let them look at the live preview.",
        "With the provider on 'flaky' half the papers fail.",
        'Run it against the "slow" scenario.',
        "Open the Preview against the slow provider.",
    ],
)
def test_the_preview_and_the_fault_switchboard_may_be_named_now(phrase):
    assert list(console_features.missing_features(phrase)) == []


def test_what_the_console_offers_is_not_refused():
    script = (
        "Ask them to run the visible tests and read the run's output with them; reveal the "
        "next task; send a message; take a note. Users close the tab halfway; the provider "
        "has bad days. Starlette cancels the generator when the client disconnects."
    )
    assert list(console_features.missing_features(script)) == []


def test_a_mutant_names_the_level_it_must_land_at(copy):
    toml = copy / "mutants" / "naive-datetime" / "mutant.toml"
    toml.write_text(toml.read_text().replace("level = 2", "level = 3"))
    assert problems(copy) == [
        "add-metadata/mutants/naive-datetime/mutant.toml: level: is 3 "
        "(expected a level below the top of the scale, 0..2)"
    ]
    toml.write_text(toml.read_text().replace("level = 3\n", ""))
    assert problems(copy) == [
        "add-metadata/mutants/naive-datetime/mutant.toml: level: missing "
        "(expected the level (0..2) it must land at in its criterion)"
    ]


def test_a_spec_sentence_must_be_quoted_from_its_task(copy):
    spec = copy / "spec.toml"
    spec.write_text(
        spec.read_text()
        .replace("Everything the server sends is untrusted text.", "All text is escaped.")
        .replace('id = "show.fields"\ntask = "show-metadata"', 'id = "show.fields"\ntask = "show"')
    )
    assert problems(copy) == [
        "add-metadata/spec.toml: sentences[12].task: 'show' is not a task "
        "(expected one of metadata, show-metadata)",
        "add-metadata/spec.toml: sentences[14].text: is not in task 'show-metadata''s body: "
        "'All text is escaped.' (expected a sentence quoted exactly from the task text)",
    ]


def test_a_mutant_names_sentences_the_spec_map_has(copy):
    edit(
        copy / "mutants" / "naive-datetime" / "mutant.toml",
        '"metadata.created-at"',
        '"metadata.created"',
    )
    assert problems(copy) == [
        "add-metadata/mutants/naive-datetime/mutant.toml: spec: names "
        "'metadata.created', which spec.toml does not have (expected ids of spec.toml sentences)"
    ]


def test_tests_that_run_alone_are_loaded(copy):
    edit(
        copy / "exercise.toml",
        "workers = 2\n",
        'workers = 2\nalone = ["test_frontend.py", "test_faults.py::test_answers_without_usage"]\n',
    )
    assert catalog.load(copy).alone == (
        "test_frontend.py",
        "test_faults.py::test_answers_without_usage",
    )


def test_tests_that_run_alone_must_name_hidden_tests(copy):
    edit(
        copy / "exercise.toml",
        "workers = 2\n",
        'workers = 2\nalone = ["test_nope.py", "test_faults.py::test_nope", 3, "../x.py"]\n',
    )
    expected = "(expected a list of hidden tests: 'test_file.py' or 'test_file.py::test_name')"
    assert problems(copy) == [
        "add-metadata/exercise.toml: tests.alone[0]: is 'test_nope.py': no such file in "
        f"tests/hidden {expected}",
        "add-metadata/exercise.toml: tests.alone[1]: is 'test_faults.py::test_nope': "
        f"test_faults.py defines no test_nope {expected}",
        f"add-metadata/exercise.toml: tests.alone[2]: is 3 {expected}",
        "add-metadata/exercise.toml: tests.alone[3]: is '../x.py': no such file in "
        f"tests/hidden {expected}",
    ]
    edit(copy / "exercise.toml", 'alone = ["test_nope.py", ', 'alone = "test_faults.py"\nold = [')
    assert (
        problems(copy)[-1]
        == f"add-metadata/exercise.toml: tests.alone: is the string 'test_faults.py' {expected}"
    )
