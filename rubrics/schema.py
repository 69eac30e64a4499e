"""Rubric files (TOML) and their validation.

    [rubric]
    id = "add-metadata"
    title = "Add metadata to answers"
    scale = 3                      # levels run 0..scale
    critical_cap = 60              # optional: the overall never exceeds this when a critical
                                   # test fails (a test marked @pytest.mark.critical("...")
                                   # or any test of a criterion with `critical = "..."`)

    [[criteria]]
    id = "error-handling"          # automated: tests with @pytest.mark.criterion("error-handling")
    title = "Error handling"
    description = "A provider fault becomes a clean, honest error."
    weight = 2
    source = "automated"           # or "interviewer"
    partial_credit = true          # automated only; false: any failure is level 0
    critical = "..."               # optional, automated only: every failure of this criterion
                                   # is critical; the text says what it means in plain words
    [criteria.levels]              # one anchor per level, 0..scale
    0 = "..."
    ...

Errors name the file, the field, what is wrong and what was expected, all at once.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")
SOURCES = ("automated", "interviewer")


@dataclass(frozen=True)
class SchemaIssue:
    file: str
    field: str
    problem: str
    expected: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.problem} (expected {self.expected})"


class SchemaError(ValueError):
    """One or more problems in a manifest or rubric file."""

    def __init__(self, issues: list[SchemaIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class Checker:
    """Collects issues for one file instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[SchemaIssue] = []

    def issue(self, field: str, problem: str, expected: str) -> None:
        self.issues.append(SchemaIssue(self.file, field, problem, expected))

    def get(
        self,
        data: Mapping[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        field: str,
        expected: str,
        *,
        required: bool = True,
        default: Any = None,
    ) -> Any:
        if key not in data:
            if required:
                self.issue(field, "missing", expected)
            return default
        value = data[key]
        # bool is an int in Python; a rubric weight of `true` is a mistake, not 1.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.issue(field, f"is {value!r}", expected)
            return default
        if not isinstance(value, kind):
            self.issue(field, f"is {_describe(value)}", expected)
            return default
        return value

    def unknown(self, data: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in sorted(set(data) - allowed):
            where = f"{prefix}.{key}" if prefix else key
            self.issue(where, "unknown field", f"one of {', '.join(sorted(allowed))}")

    def raise_if_any(self) -> None:
        if self.issues:
            raise SchemaError(self.issues)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"{type(value).__name__} {value!r}"


def read_toml(path: Path, display: str | None = None) -> dict[str, Any]:
    name = display or str(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SchemaError([SchemaIssue(name, "(file)", "does not exist", "a TOML file")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError([SchemaIssue(name, "(syntax)", str(exc), "valid TOML")]) from exc


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    description: str
    weight: float
    source: str  # "automated" | "interviewer"
    levels: dict[int, str]
    partial_credit: bool = True
    critical: str = ""  # plain words for a failure of any of its tests; "" when not critical

    @property
    def automated(self) -> bool:
        return self.source == "automated"


@dataclass(frozen=True)
class Rubric:
    id: str
    title: str
    scale: int
    criteria: tuple[Criterion, ...]
    critical_cap: float | None = None  # the overall's ceiling once a critical test fails

    def criterion(self, cid: str) -> Criterion:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for c in data["criteria"]:
            c["levels"] = {str(k): v for k, v in c["levels"].items()}
            # Fields added later are left out at their defaults, so a rubric that does not
            # use them keeps the snapshot (and the version hash) it always had.
            if not c["critical"]:
                del c["critical"]
        if data["critical_cap"] is None:
            del data["critical_cap"]
        data["criteria"] = list(data["criteria"])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rubric:
        """A stored snapshot, also one written before a field existed (it takes the default)."""
        criteria = tuple(
            Criterion(**{**c, "levels": {int(k): v for k, v in c["levels"].items()}})
            for c in data["criteria"]
        )
        cap = data.get("critical_cap")
        return cls(
            data["id"],
            data["title"],
            int(data["scale"]),
            criteria,
            None if cap is None else float(cap),
        )

    @property
    def version(self) -> str:
        """Content hash: a scorecard names the exact rubric it was scored with."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse_rubric(data: Mapping[str, Any], file: str = "rubric.toml") -> Rubric:
    """Validate parsed TOML; raise SchemaError listing every problem."""
    ck = Checker(file)
    ck.unknown(data, {"rubric", "criteria"}, "")
    head = ck.get(data, "rubric", dict, "rubric", "a [rubric] table with id, title, scale") or {}
    ck.unknown(head, {"id", "title", "scale", "critical_cap"}, "rubric")
    rid = ck.get(head, "id", str, "rubric.id", "a slug like 'add-metadata'", default="")
    if rid and not ID_PATTERN.match(rid):
        ck.issue("rubric.id", f"{rid!r} is not a slug", "lowercase letters, digits and '-'")
    title = ck.get(head, "title", str, "rubric.title", "a non-empty string", default="")
    scale = ck.get(head, "scale", int, "rubric.scale", "an integer from 1 to 10", default=3)
    if not 1 <= scale <= 10:
        ck.issue("rubric.scale", f"is {scale}", "an integer from 1 to 10")
        scale = 3
    cap = ck.get(
        head,
        "critical_cap",
        (int, float),
        "rubric.critical_cap",
        "the highest overall (0 to 100) a submission with a critical failure can get",
        required=False,
    )
    if cap is not None and not 0 <= cap <= 100:
        ck.issue("rubric.critical_cap", f"is {cap}", "a number from 0 to 100")
        cap = None
    raw = ck.get(data, "criteria", list, "criteria", "a list of [[criteria]] tables", default=[])
    if isinstance(raw, list) and not raw and "criteria" in data:
        ck.issue("criteria", "is empty", "at least one criterion")
    criteria: list[Criterion] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"criteria[{i}]"
        if not isinstance(item, dict):
            ck.issue(where, f"is {_describe(item)}", "a table")
            continue
        crit = _parse_criterion(ck, item, where, scale)
        if crit is None:
            continue
        if crit.id in seen:
            ck.issue(f"{where}.id", f"{crit.id!r} is used twice", "unique criterion ids")
        seen.add(crit.id)
        criteria.append(crit)
    ck.raise_if_any()
    return Rubric(rid, title, scale, tuple(criteria), None if cap is None else float(cap))


def _parse_criterion(
    ck: Checker, item: Mapping[str, Any], where: str, scale: int
) -> Criterion | None:
    before = len(ck.issues)
    ck.unknown(
        item,
        {"id", "title", "description", "weight", "source", "levels", "partial_credit", "critical"},
        where,
    )
    cid = ck.get(item, "id", str, f"{where}.id", "a slug like 'error-handling'", default="")
    if cid and not ID_PATTERN.match(cid):
        ck.issue(f"{where}.id", f"{cid!r} is not a slug", "lowercase letters, digits and '-'")
    where_named = f"criteria[{cid}]" if cid else where
    title = ck.get(item, "title", str, f"{where_named}.title", "a non-empty string", default="")
    desc = ck.get(item, "description", str, f"{where_named}.description", "a string", default="")
    weight = ck.get(
        item, "weight", (int, float), f"{where_named}.weight", "a positive number", default=1
    )
    if isinstance(weight, int | float) and weight <= 0:
        ck.issue(f"{where_named}.weight", f"is {weight}", "a positive number")
    source = ck.get(
        item, "source", str, f"{where_named}.source", f"one of {', '.join(SOURCES)}", default=""
    )
    if source and source not in SOURCES:
        ck.issue(f"{where_named}.source", f"is {source!r}", f"one of {', '.join(SOURCES)}")
    partial = ck.get(
        item,
        "partial_credit",
        bool,
        f"{where_named}.partial_credit",
        "true or false",
        required=False,
        default=True,
    )
    if "partial_credit" in item and source == "interviewer":
        ck.issue(
            f"{where_named}.partial_credit",
            "is set on an interviewer-rated criterion",
            "only on automated ones",
        )
    critical = ck.get(
        item,
        "critical",
        str,
        f"{where_named}.critical",
        'what a failure means, in plain words ("Renders model text as HTML")',
        required=False,
        default="",
    )
    if "critical" in item and source == "interviewer":
        ck.issue(
            f"{where_named}.critical",
            "is set on an interviewer-rated criterion",
            "only on automated ones (critical failures come from hidden tests)",
        )
    raw_levels = ck.get(
        item,
        "levels",
        dict,
        f"{where_named}.levels",
        f"a table with one anchor for each level 0..{scale}",
        default={},
    )
    levels: dict[int, str] = {}
    for key, text in raw_levels.items():
        if not (isinstance(key, str) and key.isdigit() and 0 <= int(key) <= scale):
            ck.issue(f"{where_named}.levels.{key}", "is not a level", f"levels 0..{scale}")
        elif not isinstance(text, str) or not text.strip():
            ck.issue(
                f"{where_named}.levels.{key}", "has no anchor text", "a description of that level"
            )
        else:
            levels[int(key)] = text
    if raw_levels:
        absent = [str(n) for n in range(scale + 1) if str(n) not in raw_levels]
        if absent:
            ck.issue(
                f"{where_named}.levels",
                f"lacks level {', '.join(absent)}",
                f"one anchor for each level 0..{scale}",
            )
    if len(ck.issues) > before:
        return None
    return Criterion(cid, title, desc, float(weight), source, levels, partial, critical.strip())


def load_rubric(path: Path | str, display: str | None = None) -> Rubric:
    path = Path(path)
    name = display or str(path)
    return parse_rubric(read_toml(path, name), name)
