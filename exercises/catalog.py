"""The exercise catalog: load and validate exercise folders.

An exercise is a folder `exercises/<slug>/` with `exercise.toml` (the manifest),
a rubric, `starter/`, `solution/`, `tests/visible/`, `tests/hidden/` and
`mutants/<name>/{mutant.toml, mutant.patch}`. See exercises/README.md for the format.
Folders whose name starts with `_` or `.` (and `faultkit`) are not exercises.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubrics.schema import Checker, Rubric, SchemaError, SchemaIssue, load_rubric, read_toml

from .console_features import missing_features, offered
from .live_scenarios import LiveScenario, load_scenarios
from .patches import PatchError, apply_patch

DEFAULT_ROOT = Path(__file__).resolve().parent
MANIFEST = "exercise.toml"
DIFFICULTIES = ("easy", "medium", "hard")
SLUG = re.compile(r"^[a-z][a-z0-9-]*$")
# Build litter never belongs to an exercise (and must not change its version hash).
IGNORED_PARTS = {
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    "node_modules",
    ".DS_Store",
}
IGNORED_SUFFIXES = (".pyc", ".pyo")
MUTANT_TOML = "mutant.toml"
MUTANT_PATCH = "mutant.patch"
MARKER = re.compile(r"""criterion\(\s*["']([^"']+)["']\s*[,)]""")
APP_PORT = "{app_port}"
# Hidden-suite workers an exercise may ask for: each is one more app instance in the
# app party, so memory and boot CPU grow with it.
MAX_WORKERS = 8
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Set by the sandbox or the runner for the app party: an exercise cannot override them.
RESERVED_ENV = frozenset(
    {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "LLM_BASE_URL"}
)
RESERVED_ENV_PREFIX = "FAULTLINE_"

Files = dict[str, bytes]


def read_tree(root: Path) -> Files:
    """Every file under `root` as {relative POSIX path: bytes}, without build litter."""
    files: Files = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in IGNORED_PARTS for part in rel.parts) or path.suffix in IGNORED_SUFFIXES:
            continue
        if path.is_file():
            files[rel.as_posix()] = path.read_bytes()
    return files


@dataclass(frozen=True)
class PMGuide:
    """What the interviewer (playing PM) says for one task, and what to listen for."""

    say: str
    hints: tuple[str, ...] = ()
    follow_ups: tuple[str, ...] = ()
    good_answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    body: str  # markdown, shown to the candidate when revealed
    criteria: tuple[str, ...]  # rubric criteria whose hidden tests belong to this task
    pm: PMGuide


@dataclass(frozen=True)
class Sentence:
    """One requirement sentence of a task text, as the spec map names it."""

    id: str
    task: str
    text: str  # quoted exactly (up to whitespace) from the task's body
    judged: str = ""  # "interviewer": no hidden test judges it


@dataclass(frozen=True)
class AppSpec:
    start: tuple[str, ...]  # may contain {app_port}
    health: str = "/healthz"
    start_timeout_seconds: float = 20.0
    env: Mapping[str, str] = field(default_factory=dict)  # extra env of the app, both runs

    def command(self, port: int) -> list[str]:
        return [part.replace(APP_PORT, str(port)) for part in self.start]


@dataclass(frozen=True)
class Mutant:
    """A plausible wrong solution: solution/ with mutant.patch applied; it must land at
    `level` (below the top of the scale) in `criterion`."""

    name: str
    criterion: str
    description: str
    path: Path
    level: int = 0
    spec: tuple[str, ...] = ()  # the spec-map sentences it breaks


@dataclass(frozen=True)
class Exercise:
    slug: str
    title: str
    summary: str
    difficulty: str
    time_box_minutes: int
    path: Path
    app: AppSpec
    tasks: tuple[Task, ...]
    pm_intro: str
    pm_wrap_up: str
    rubric: Rubric
    rubric_path: Path
    mutants: tuple[Mutant, ...]
    seed: int = 0
    wall_seconds: float = 60.0
    # Hidden-suite workers: each runs its share of the tests against an app instance
    # and a fake provider of its own ([tests] workers; see runner.hidden_spec).
    workers: int = 1
    # Hidden tests that run with no other test beside them ([tests] alone): after every
    # worker's share, one at a time (see faultkit.pytest_plugin).
    alone: tuple[str, ...] = ()
    starter_max_overall: float = 60.0
    version_hash: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The exercise's own live-preview fault scenarios (exercise.toml [[scenarios]]).
    scenarios: tuple[LiveScenario, ...] = ()
    spec: tuple[Sentence, ...] = ()  # the spec map (spec.toml); empty when there is none

    def starter_files(self) -> Files:
        return read_tree(self.path / "starter")

    def solution_files(self) -> Files:
        return read_tree(self.path / "solution")

    def visible_test_files(self) -> Files:
        return read_tree(self.path / "tests" / "visible")

    def hidden_test_files(self) -> Files:
        return read_tree(self.path / "tests" / "hidden")

    def mutant(self, name: str) -> Mutant:
        for m in self.mutants:
            if m.name == name:
                return m
        raise KeyError(f"{self.slug} has no mutant {name!r}")

    def mutant_files(self, name: str) -> Files:
        """solution/ with the mutant's patch applied (PatchError if it no longer applies)."""
        patch = (self.mutant(name).path / MUTANT_PATCH).read_text(encoding="utf-8")
        return apply_patch(self.solution_files(), patch)

    def pm_script(self) -> dict[str, Any]:
        """The interviewer guide as plain data, task by task."""
        return {
            "intro": self.pm_intro,
            "wrap_up": self.pm_wrap_up,
            "tasks": [
                {
                    "id": t.id,
                    "title": t.title,
                    "say": t.pm.say,
                    "hints": list(t.pm.hints),
                    "follow_ups": list(t.pm.follow_ups),
                    "good_answers": list(t.pm.good_answers),
                }
                for t in self.tasks
            ],
        }


# The kit every suite runs with (the fake provider, the fault injectors, the pytest
# plugin): part of what ran, so part of every exercise's version.
KIT_DIR = Path(__file__).resolve().parent / "faultkit"


def exercise_hash(path: Path, rubric_path: Path) -> str:
    """sha256 over every file's path and content, a rubric kept outside the folder, and
    the kit (KIT_DIR): a change to anything a suite runs gives a new hash."""
    digest = hashlib.sha256()
    files = read_tree(path)
    if not rubric_path.is_relative_to(path) and rubric_path.is_file():
        files = {**files, f"(rubric)/{rubric_path.name}": rubric_path.read_bytes()}
    files |= {f"(kit)/{rel}": data for rel, data in read_tree(KIT_DIR).items()}
    for rel, content in sorted(files.items()):
        digest.update(f"{rel}\0{len(content)}\0".encode())
        digest.update(content)
    return "sha256:" + digest.hexdigest()[:16]


def _strings(ck: Checker, data: Mapping[str, Any], key: str, field_name: str) -> tuple[str, ...]:
    value = ck.get(data, key, list, field_name, "a list of strings", required=False, default=[])
    if any(not isinstance(v, str) for v in value):
        ck.issue(field_name, "contains a non-string", "a list of strings")
        return ()
    return tuple(value)


def load(path: Path | str) -> Exercise:
    """Load and validate one exercise folder; SchemaError lists every problem found."""
    path = Path(path).resolve()
    name = f"{path.name}/{MANIFEST}"
    data = read_toml(path / MANIFEST, name)
    ck = Checker(name)
    ck.unknown(data, {"exercise", "app", "tests", "check", "pm", "tasks", "scenarios"}, "")
    head = _load_head(ck, data, path)
    app = _load_app(ck, data)
    tests = _load_tests(ck, data, path)
    starter_max = _load_check(ck, data)
    pm_intro, pm_wrap = _load_pm(ck, data)
    tasks = _load_tasks(ck, data)
    scenarios = load_scenarios(ck, data)
    _check_pm_script(ck, pm_intro, pm_wrap, tasks)

    for folder in ("starter", "solution", "tests/visible", "tests/hidden"):
        if not read_tree(path / folder):
            ck.issue(f"({folder}/)", "is missing or empty", f"a {folder}/ folder with files")

    rubric, rubric_path = _load_rubric(ck, path, head.rubric_ref)

    spec = _load_spec(ck, path, tasks)
    mutants = _load_mutants(ck, path, rubric)
    known = {sentence.id for sentence in spec}
    for m in mutants:
        for sid in m.spec:
            if sid not in known:
                ck.issues.append(
                    SchemaIssue(
                        f"{path.name}/mutants/{m.name}/mutant.toml",
                        "spec",
                        f"names {sid!r}, which spec.toml does not have",
                        "ids of spec.toml sentences",
                    )
                )
    if rubric is not None:
        _cross_check(ck, path, rubric, tasks)
    ck.raise_if_any()
    assert rubric is not None
    return Exercise(
        slug=head.slug,
        title=head.title,
        summary=head.summary.strip(),
        difficulty=head.difficulty,
        time_box_minutes=head.time_box_minutes,
        path=path,
        app=app,
        tasks=tasks,
        pm_intro=pm_intro.strip(),
        pm_wrap_up=pm_wrap.strip(),
        rubric=rubric,
        rubric_path=rubric_path,
        mutants=mutants,
        seed=tests.seed,
        wall_seconds=tests.wall_seconds,
        workers=tests.workers,
        alone=tests.alone,
        starter_max_overall=starter_max,
        version_hash=exercise_hash(path, rubric_path),
        scenarios=scenarios,
        spec=spec,
    )


@dataclass(frozen=True)
class _Head:
    """The [exercise] table."""

    slug: str
    title: str
    summary: str
    difficulty: str
    time_box_minutes: int
    rubric_ref: str


def _load_head(ck: Checker, data: Mapping[str, Any], path: Path) -> _Head:
    head = ck.get(data, "exercise", dict, "exercise", "an [exercise] table", default={})
    ck.unknown(
        head, {"slug", "title", "summary", "difficulty", "time_box_minutes", "rubric"}, "exercise"
    )
    slug = ck.get(head, "slug", str, "exercise.slug", f"the folder name {path.name!r}", default="")
    if slug and slug != path.name:
        ck.issue("exercise.slug", f"is {slug!r} but the folder is {path.name!r}", "the folder name")
    if slug and not SLUG.match(slug):
        ck.issue("exercise.slug", f"{slug!r} is not a slug", "lowercase letters, digits and '-'")
    title = ck.get(head, "title", str, "exercise.title", "a non-empty string", default="")
    if "title" in head and not str(title).strip():
        ck.issue("exercise.title", "is empty", "a non-empty string")
    summary = ck.get(head, "summary", str, "exercise.summary", "a short paragraph", default="")
    difficulty = ck.get(
        head,
        "difficulty",
        str,
        "exercise.difficulty",
        f"one of {', '.join(DIFFICULTIES)}",
        default="",
    )
    if difficulty and difficulty not in DIFFICULTIES:
        ck.issue("exercise.difficulty", f"is {difficulty!r}", f"one of {', '.join(DIFFICULTIES)}")
    time_box = ck.get(
        head, "time_box_minutes", int, "exercise.time_box_minutes", "minutes, 5 to 240", default=45
    )
    if not 5 <= time_box <= 240:
        ck.issue("exercise.time_box_minutes", f"is {time_box}", "minutes, 5 to 240")
    rubric_ref = ck.get(
        head,
        "rubric",
        str,
        "exercise.rubric",
        "a path to a rubric TOML, relative to the exercise folder",
        default="",
    )
    return _Head(slug, title, summary, difficulty, time_box, rubric_ref)


def _load_app(ck: Checker, data: Mapping[str, Any]) -> AppSpec:
    app = ck.get(data, "app", dict, "app", "an [app] table with start = [...]", default={})
    ck.unknown(app, {"start", "health", "start_timeout_seconds", "env"}, "app")
    start = _strings(ck, app, "start", "app.start")
    if "start" not in app:
        ck.issue("app.start", "missing", "the command that starts the app, as a list of strings")
    elif not start:
        ck.issue("app.start", "is empty", "the command that starts the app, as a list of strings")
    elif not any(APP_PORT in part for part in start):
        ck.issue("app.start", f"never mentions {APP_PORT}", f"the port given as {APP_PORT}")
    health = ck.get(
        app,
        "health",
        str,
        "app.health",
        "a path starting with /",
        required=False,
        default="/healthz",
    )
    if not health.startswith("/"):
        ck.issue("app.health", f"is {health!r}", "a path starting with /")
    start_timeout = ck.get(
        app,
        "start_timeout_seconds",
        (int, float),
        "app.start_timeout_seconds",
        "seconds",
        required=False,
        default=20,
    )
    return AppSpec(start, health, float(start_timeout), _app_env(ck, app))


@dataclass(frozen=True)
class _Tests:
    """The [tests] table."""

    seed: int
    wall_seconds: float
    workers: int
    alone: tuple[str, ...]


def _load_tests(ck: Checker, data: Mapping[str, Any], path: Path) -> _Tests:
    tests = ck.get(data, "tests", dict, "tests", "a [tests] table", required=False, default={})
    ck.unknown(tests, {"seed", "wall_seconds", "workers", "alone"}, "tests")
    seed = ck.get(tests, "seed", int, "tests.seed", "an integer", required=False, default=0)
    wall = ck.get(
        tests,
        "wall_seconds",
        (int, float),
        "tests.wall_seconds",
        "seconds, 5 to 600",
        required=False,
        default=60,
    )
    if not 5 <= wall <= 600:
        ck.issue("tests.wall_seconds", f"is {wall}", "seconds, 5 to 600")
    workers = ck.get(
        tests, "workers", int, "tests.workers", "an integer, 1 to 8", required=False, default=1
    )
    if not 1 <= workers <= MAX_WORKERS:
        ck.issue("tests.workers", f"is {workers}", f"an integer, 1 to {MAX_WORKERS}")
    return _Tests(
        seed, float(wall), int(workers), _load_alone(ck, tests, path / "tests" / "hidden")
    )


ALONE_EXPECTED = "a list of hidden tests: 'test_file.py' or 'test_file.py::test_name'"
TEST_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(test_\w+)", re.MULTILINE)


def _load_alone(ck: Checker, tests: Mapping[str, Any], hidden: Path) -> tuple[str, ...]:
    """[tests] alone: each entry names a hidden test file, or one test in it."""
    alone = ck.get(tests, "alone", list, "tests.alone", ALONE_EXPECTED, required=False, default=[])
    names: list[str] = []
    for i, entry in enumerate(alone):
        where = f"tests.alone[{i}]"
        if not isinstance(entry, str):
            ck.issue(where, f"is {entry!r}", ALONE_EXPECTED)
            continue
        file, sep, test = entry.partition("::")
        source = hidden / file
        if "/" in file or not file.endswith(".py") or not source.is_file():
            ck.issue(where, f"is {entry!r}: no such file in tests/hidden", ALONE_EXPECTED)
            continue
        if sep and test not in TEST_DEF.findall(source.read_text(encoding="utf-8")):
            ck.issue(where, f"is {entry!r}: {file} defines no {test or 'test'}", ALONE_EXPECTED)
            continue
        names.append(entry)
    return tuple(names)


def _load_check(ck: Checker, data: Mapping[str, Any]) -> float:
    """The [check] table: the highest overall the starter may score."""
    check = ck.get(data, "check", dict, "check", "a [check] table", required=False, default={})
    ck.unknown(check, {"starter_max_overall"}, "check")
    starter_max = ck.get(
        check,
        "starter_max_overall",
        (int, float),
        "check.starter_max_overall",
        "0 to 100",
        required=False,
        default=60,
    )
    return float(starter_max)


def _load_pm(ck: Checker, data: Mapping[str, Any]) -> tuple[str, str]:
    """The [pm] table: what the interviewer says first and how they close."""
    pm = ck.get(data, "pm", dict, "pm", "a [pm] table with intro and wrap_up", default={})
    ck.unknown(pm, {"intro", "wrap_up"}, "pm")
    intro = ck.get(pm, "intro", str, "pm.intro", "what the interviewer says first", default="")
    wrap_up = ck.get(
        pm, "wrap_up", str, "pm.wrap_up", "how the interviewer closes", required=False, default=""
    )
    return intro, wrap_up


def _load_rubric(ck: Checker, path: Path, ref: str) -> tuple[Rubric | None, Path]:
    """The rubric file exercise.rubric names (None, with its problems in `ck`, if it is bad)."""
    rubric_path = (path / ref).resolve() if ref else path / "rubric.toml"
    if not ref:
        return None, rubric_path
    try:
        return load_rubric(rubric_path, _display(rubric_path, path)), rubric_path
    except SchemaError as exc:
        ck.issues.extend(exc.issues)
        return None, rubric_path


def _app_env(ck: Checker, app: Mapping[str, Any]) -> dict[str, str]:
    expected = 'a table of NAME = "value" strings'
    table = ck.get(app, "env", dict, "app.env", expected, required=False, default={})
    env: dict[str, str] = {}
    for name, value in table.items():
        where = f"app.env.{name}"
        if not ENV_NAME.match(name):
            ck.issue(
                where,
                f"{name!r} is not an environment variable name",
                "letters, digits and '_', not starting with a digit",
            )
        elif name in RESERVED_ENV or name.startswith(RESERVED_ENV_PREFIX):
            ck.issue(
                where,
                "is set by the runner",
                f"a name other than {', '.join(sorted(RESERVED_ENV))} and {RESERVED_ENV_PREFIX}*",
            )
        elif not isinstance(value, str):
            shown = "a table" if isinstance(value, dict) else f"{type(value).__name__} {value!r}"
            ck.issue(where, f"is {shown}", 'a string (quote numbers: "2")')
        elif "\0" in value:
            ck.issue(where, "contains a NUL character", "a string without NUL")
        else:
            env[name] = value
    return env


def _display(target: Path, base: Path) -> str:
    try:
        return f"{base.name}/{target.relative_to(base).as_posix()}"
    except ValueError:
        return str(target)


def _load_tasks(ck: Checker, data: Mapping[str, Any]) -> tuple[Task, ...]:
    raw = ck.get(data, "tasks", list, "tasks", "a list of [[tasks]] tables", default=[])
    if "tasks" in data and isinstance(data["tasks"], list) and not raw:
        ck.issue("tasks", "is empty", "at least one task")
    tasks: list[Task] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"tasks[{i}]"
        if not isinstance(item, dict):
            ck.issue(where, "is not a table", "a [[tasks]] table")
            continue
        ck.unknown(item, {"id", "title", "body", "criteria", "pm"}, where)
        tid = ck.get(item, "id", str, f"{where}.id", "a slug like 'show-metadata'", default="")
        if tid and not SLUG.match(tid):
            ck.issue(f"{where}.id", f"{tid!r} is not a slug", "lowercase letters, digits and '-'")
        if tid in seen:
            ck.issue(f"{where}.id", f"{tid!r} is used twice", "unique task ids")
        seen.add(tid)
        title = ck.get(item, "title", str, f"{where}.title", "a non-empty string", default="")
        body = ck.get(
            item, "body", str, f"{where}.body", "markdown shown to the candidate", default=""
        )
        if "body" in item and isinstance(body, str) and not body.strip():
            ck.issue(f"{where}.body", "is empty", "markdown shown to the candidate")
        criteria = _strings(ck, item, "criteria", f"{where}.criteria")
        pm = ck.get(
            item, "pm", dict, f"{where}.pm", "a [tasks.pm] table with say, hints...", default={}
        )
        ck.unknown(pm, {"say", "hints", "follow_ups", "good_answers"}, f"{where}.pm")
        say = ck.get(
            pm, "say", str, f"{where}.pm.say", "what the PM says to reveal the task", default=""
        )
        guide = PMGuide(
            say,
            _strings(ck, pm, "hints", f"{where}.pm.hints"),
            _strings(ck, pm, "follow_ups", f"{where}.pm.follow_ups"),
            _strings(ck, pm, "good_answers", f"{where}.pm.good_answers"),
        )
        tasks.append(Task(tid, title, body.strip(), criteria, guide))
    return tuple(tasks)


def _check_pm_script(ck: Checker, intro: str, wrap_up: str, tasks: tuple[Task, ...]) -> None:
    """Refuse a PM script that names a console feature that does not exist (yet)."""
    texts: list[tuple[str, str]] = [("pm.intro", intro), ("pm.wrap_up", wrap_up)]
    for i, task in enumerate(tasks):
        where = f"tasks[{i}].pm"
        named = f" (task {task.id!r})"
        texts.append((f"{where}.say{named}", task.pm.say))
        for part in ("hints", "follow_ups", "good_answers"):
            for n, text in enumerate(getattr(task.pm, part)):
                texts.append((f"{where}.{part}[{n}]{named}", text))
    for where, text in texts:
        for mention in missing_features(text):
            ck.issue(
                where,
                f"names {mention.phrase!r}: {mention.feature.what} does not exist "
                f"(console feature {mention.feature.id!r})",
                offered(),
            )


SPEC = "spec.toml"
SENTENCE_ID = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")
JUDGES = ("interviewer",)


def _words(text: str) -> str:
    return " ".join(text.split())


def _load_spec(ck: Checker, path: Path, tasks: tuple[Task, ...]) -> tuple[Sentence, ...]:
    """The spec map: each sentence must be quoted from its task's body, so a rewritten
    task text cannot leave the map (and the tests that cite it) behind."""
    if not (path / SPEC).is_file():
        return ()
    name = f"{path.name}/{SPEC}"
    try:
        data = read_toml(path / SPEC, name)
    except SchemaError as exc:
        ck.issues.extend(exc.issues)
        return ()
    sck = Checker(name)
    sck.unknown(data, {"sentences"}, "")
    bodies = {t.id: _words(t.body) for t in tasks}
    raw = sck.get(data, "sentences", list, "sentences", "a list of [[sentences]]", default=[])
    found: list[Sentence] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"sentences[{i}]"
        if not isinstance(item, dict):
            sck.issue(where, "is not a table", "a [[sentences]] table")
            continue
        sck.unknown(item, {"id", "task", "text", "judged"}, where)
        sid = sck.get(item, "id", str, f"{where}.id", "an id like 'metadata.usage'", default="")
        if sid and not SENTENCE_ID.match(sid):
            sck.issue(f"{where}.id", f"{sid!r} is not a sentence id", "'<task>.<name>'")
        if sid in seen:
            sck.issue(f"{where}.id", f"{sid!r} is used twice", "unique sentence ids")
        seen.add(sid)
        task = sck.get(item, "task", str, f"{where}.task", "a task id", default="")
        text = sck.get(item, "text", str, f"{where}.text", "the sentence, quoted", default="")
        judged = sck.get(
            item, "judged", str, f"{where}.judged", "'interviewer'", required=False, default=""
        )
        if judged and judged not in JUDGES:
            sck.issue(f"{where}.judged", f"is {judged!r}", f"one of {', '.join(JUDGES)}")
        if task and task not in bodies:
            sck.issue(f"{where}.task", f"{task!r} is not a task", f"one of {', '.join(bodies)}")
        elif task and text and _words(text) not in bodies[task]:
            sck.issue(
                f"{where}.text",
                f"is not in task {task!r}'s body: {text[:80]!r}",
                "a sentence quoted exactly from the task text",
            )
        found.append(Sentence(sid, task, _words(text), judged))
    ck.issues.extend(sck.issues)
    return tuple(found)


def _load_mutants(ck: Checker, path: Path, rubric: Rubric | None) -> tuple[Mutant, ...]:
    mutants: list[Mutant] = []
    root = path / "mutants"
    if not root.is_dir():
        return ()
    for folder in sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    ):
        name = f"{path.name}/mutants/{folder.name}/mutant.toml"
        try:
            data = read_toml(folder / "mutant.toml", name)
        except SchemaError as exc:
            ck.issues.extend(exc.issues)
            continue
        mck = Checker(name)
        mck.unknown(data, {"criterion", "description", "level", "spec"}, "")
        broken = _strings(mck, data, "spec", "spec")
        criterion = mck.get(
            data,
            "criterion",
            str,
            "criterion",
            "the rubric criterion this mutant should lose on",
            default="",
        )
        description = mck.get(
            data, "description", str, "description", "what is wrong, in plain words", default=""
        )
        if rubric is not None and criterion:
            ids = {c.id: c for c in rubric.criteria}
            if criterion not in ids:
                mck.issue(
                    "criterion", f"{criterion!r} is not in the rubric", f"one of {', '.join(ids)}"
                )
            elif not ids[criterion].automated:
                mck.issue(
                    "criterion", f"{criterion!r} is interviewer-rated", "an automated criterion"
                )
        top = rubric.scale if rubric is not None else 10
        level = mck.get(
            data,
            "level",
            int,
            "level",
            f"the level (0..{top - 1}) it must land at in its criterion",
            default=0,
        )
        if not 0 <= level < top:
            mck.issue("level", f"is {level}", f"a level below the top of the scale, 0..{top - 1}")
        _check_patch(mck, path, folder)
        ck.issues.extend(mck.issues)
        mutants.append(Mutant(folder.name, criterion, description, folder, level, broken))
    return tuple(mutants)


def _check_patch(mck: Checker, path: Path, folder: Path) -> None:
    """The patch must apply to today's solution/, exactly: a stale mutant fails the load."""
    where = f"{path.name}/mutants/{folder.name}/{MUTANT_PATCH}"
    if (folder / "files").is_dir():
        mck.issue(
            "(files/)",
            "is an overlay of whole files, which keeps stale solution code",
            f"a {MUTANT_PATCH}: python -m exercises mutant {path.name} {folder.name} --convert",
        )
        return
    patch = folder / MUTANT_PATCH
    if not patch.is_file():
        mck.issue(
            f"({MUTANT_PATCH})",
            "is missing",
            f"a unified diff against solution/: python -m exercises mutant {path.name} "
            f"{folder.name} --from DIR",
        )
        return
    try:
        text = patch.read_text(encoding="utf-8")
        if apply_patch(read_tree(path / "solution"), text) == read_tree(path / "solution"):
            raise PatchError(0, "changes nothing in solution/")
    except UnicodeDecodeError:
        mck.issue(f"({MUTANT_PATCH})", "is not UTF-8 text", "a unified diff")
    except PatchError as exc:
        mck.issues.append(
            SchemaIssue(
                where,
                f"line {exc.line}" if exc.line else "(patch)",
                exc.message,
                "a patch that applies to solution/ exactly, with no offset or fuzz",
            )
        )


def _cross_check(ck: Checker, path: Path, rubric: Rubric, tasks: tuple[Task, ...]) -> None:
    ids = {c.id for c in rubric.criteria}
    for i, task in enumerate(tasks):
        for cid in task.criteria:
            if cid not in ids:
                ck.issue(
                    f"tasks[{i}].criteria",
                    f"{cid!r} is not in the rubric",
                    f"one of {', '.join(sorted(ids))}",
                )
    marked: set[str] = set()
    for rel, content in read_tree(path / "tests" / "hidden").items():
        if not rel.endswith(".py"):
            continue
        for cid in MARKER.findall(content.decode("utf-8", "replace")):
            marked.add(cid)
            if cid not in ids:
                ck.issues.append(
                    SchemaIssue(
                        f"{path.name}/tests/hidden/{rel}",
                        f'criterion("{cid}")',
                        "names a criterion the rubric does not have",
                        f"one of {', '.join(sorted(ids))}",
                    )
                )
    for c in rubric.criteria:
        if c.automated and c.id not in marked:
            ck.issues.append(
                SchemaIssue(
                    f"{path.name}/tests/hidden",
                    f"criterion {c.id!r}",
                    "no hidden test is marked with it",
                    f'at least one test with @pytest.mark.criterion("{c.id}")',
                )
            )


def is_exercise_dir(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith(("_", ".")) and (path / MANIFEST).is_file()


def load_all(root: Path | str = DEFAULT_ROOT) -> list[Exercise]:
    """Every exercise under `root`, by slug; SchemaError collects problems across all of them."""
    exercises: list[Exercise] = []
    issues: list[SchemaIssue] = []
    for folder in sorted(Path(root).iterdir()):
        if not is_exercise_dir(folder):
            continue
        try:
            exercises.append(load(folder))
        except SchemaError as exc:
            issues.extend(exc.issues)
    if issues:
        raise SchemaError(issues)
    return exercises


def find(slug: str, root: Path | str = DEFAULT_ROOT) -> Exercise:
    folder = Path(root) / slug
    if not is_exercise_dir(folder):
        known = sorted(p.name for p in Path(root).iterdir() if is_exercise_dir(p))
        raise KeyError(f"no exercise {slug!r}; known: {', '.join(known) or 'none'}")
    return load(folder)
