"""An exercise's own live-preview fault scenarios: exercise.toml's [[scenarios]].

    [[scenarios]]
    name = "stalls-mid-answer"                  # a slug, not one of faultkit's own
    description = "Every answer stops after three words and the stream stays open."
    step = { kind = "reply", stall_after = 3 }  # a faultkit step (faults.Step fields)

They are listed on the interviewer's fault switchboard after faultkit's healthy, slow,
flaky, outage and garbage; switching to one answers every call with its step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rubrics.schema import Checker

from .faultkit.faults import Step
from .faultkit.scenarios import SCENARIOS

NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class LiveScenario:
    name: str
    description: str
    step: Mapping[str, Any]  # checked with faults.Step.from_dict

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "step": dict(self.step)}


def load_scenarios(ck: Checker, data: Mapping[str, Any]) -> tuple[LiveScenario, ...]:
    raw = ck.get(
        data, "scenarios", list, "scenarios", "a list of [[scenarios]] tables",
        required=False, default=[],
    )  # fmt: skip
    found: list[LiveScenario] = []
    seen: set[str] = set(SCENARIOS)
    for i, item in enumerate(raw):
        where = f"scenarios[{i}]"
        if not isinstance(item, dict):
            ck.issue(where, "is not a table", "a [[scenarios]] table")
            continue
        ck.unknown(item, {"name", "description", "step"}, where)
        name = ck.get(item, "name", str, f"{where}.name", "a slug like 'stalls-mid-answer'",
                      default="")  # fmt: skip
        if name and not NAME.match(name):
            ck.issue(f"{where}.name", f"{name!r} is not a slug", "lowercase letters, digits, '-'")
        elif name in seen:
            taken = "faultkit's own" if name in SCENARIOS else "used twice"
            ck.issue(f"{where}.name", f"{name!r} is {taken}", "a name of its own")
        seen.add(name)
        description = ck.get(item, "description", str, f"{where}.description",
                             "what the PM will see happen, in plain words", default="")  # fmt: skip
        if "description" in item and isinstance(description, str) and not description.strip():
            ck.issue(f"{where}.description", "is empty", "what the PM will see happen")
        step = ck.get(item, "step", dict, f"{where}.step", "a faultkit step table", default={})
        try:
            Step.from_dict(dict(step))
        except (ValueError, TypeError) as exc:
            ck.issue(f"{where}.step", str(exc), "faults.Step fields (kind, status, stall_after...)")
        found.append(LiveScenario(name, description.strip(), dict(step)))
    return tuple(found)
