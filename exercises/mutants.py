"""Authoring mutants: write `mutant.patch` from an edited copy of the solution, check a
mutant out for editing, and convert an old `files/` overlay into a patch.

These work on the folders directly, not through `catalog.load`, so they also help with
an exercise that does not load yet (a stale patch, an overlay still to convert).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from .catalog import MUTANT_PATCH, MUTANT_TOML, SLUG, read_tree
from .patches import PatchError, apply_patch, make_patch


class MutantError(Exception):
    """What the author asked for cannot be done; the message says why."""


def _folders(exercise: Path, name: str) -> tuple[Path, Path]:
    if not (exercise / "solution").is_dir():
        raise MutantError(f"{exercise} has no solution/ folder")
    if not SLUG.match(name):
        raise MutantError(f"{name!r} is not a mutant name (lowercase letters, digits and '-')")
    return exercise / "solution", exercise / "mutants" / name


def _write_patch(exercise: Path, name: str, edited: dict[str, bytes]) -> tuple[str, int]:
    """Write the patch turning solution/ into `edited`; (its path, changed lines)."""
    solution_dir, folder = _folders(exercise, name)
    solution = read_tree(solution_dir)
    try:
        patch = make_patch(solution, edited)
        if not patch:
            raise MutantError("the edited copy is the same as solution/: nothing to patch")
        if apply_patch(solution, patch) != edited:  # the round trip is the proof
            raise MutantError("the patch written does not reproduce the edited copy")
    except PatchError as exc:
        raise MutantError(str(exc)) from None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MUTANT_PATCH).write_text(patch, encoding="utf-8")
    changed = sum(
        1
        for line in patch.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    )
    return f"{exercise.name}/mutants/{name}/{MUTANT_PATCH}", changed


def write_mutant(
    exercise: Path,
    name: str,
    edited_dir: Path,
    *,
    criterion: str | None = None,
    level: int | None = None,
    description: str | None = None,
    spec: Sequence[str] | None = None,
) -> str:
    """Create or refresh a mutant from `edited_dir`, a full edited copy of solution/.

    A new mutant needs its criterion, level and description (written to mutant.toml);
    refreshing keeps the mutant.toml there is."""
    if not edited_dir.is_dir():
        raise MutantError(f"{edited_dir} is not a folder (a full edited copy of solution/)")
    _, folder = _folders(exercise, name)
    toml = folder / MUTANT_TOML
    given = {"criterion": criterion, "level": level, "description": description}
    if toml.is_file() and any(v is not None for v in (*given.values(), spec)):
        raise MutantError(f"{name} has a {MUTANT_TOML} already: edit it there")
    if not toml.is_file():
        missing = [f"--{key}" for key, value in given.items() if value is None]
        if missing:
            raise MutantError(f"a new mutant needs {', '.join(missing)} for its {MUTANT_TOML}")
    where, changed = _write_patch(exercise, name, read_tree(edited_dir))
    if not toml.is_file():
        lines = [
            f"criterion = {json.dumps(criterion, ensure_ascii=False)}",
            f"level = {level}",
            f"description = {json.dumps(description, ensure_ascii=False)}",
        ]
        if spec:
            lines.append(f"spec = {json.dumps(list(spec), ensure_ascii=False)}")
        toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"wrote {where} ({changed} changed lines)"


def checkout_mutant(exercise: Path, name: str, target: Path) -> None:
    """Write solution/ with the mutant's patch applied into `target` (new or empty)."""
    solution_dir, folder = _folders(exercise, name)
    if not (folder / MUTANT_PATCH).is_file():
        raise MutantError(f"{exercise.name}/mutants/{name} has no {MUTANT_PATCH}")
    if target.exists() and any(target.iterdir()):
        raise MutantError(f"{target} is not empty")
    try:
        files = apply_patch(
            read_tree(solution_dir), (folder / MUTANT_PATCH).read_text(encoding="utf-8")
        )
    except PatchError as exc:
        raise MutantError(f"{exercise.name}/mutants/{name}/{MUTANT_PATCH}: {exc}") from None
    for rel, data in files.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)


def convert_overlays(exercise: Path, name: str = "") -> list[str]:
    """Turn `mutants/<name>/files/` (every overlay mutant when `name` is empty) into a
    mutant.patch and remove the overlay; the mutant's files stay byte for byte the same."""
    root = exercise / "mutants"
    names = [name] if name else sorted(p.parent.name for p in root.glob("*/files") if p.is_dir())
    if not names:
        raise MutantError(f"{exercise.name} has no files/ overlay mutant to convert")
    solution_dir = exercise / "solution"
    lines = []
    for each in names:
        _, folder = _folders(exercise, each)
        overlay = read_tree(folder / "files")
        if not overlay:
            raise MutantError(f"{exercise.name}/mutants/{each} has no files/ overlay")
        solution = read_tree(solution_dir)
        outside = sorted(set(overlay) - set(solution))
        if outside:
            # An overlay could only replace solution files; the same holds for its patch.
            raise MutantError(f"{each}: files/ has {', '.join(outside)}, not in solution/")
        where, changed = _write_patch(exercise, each, {**solution, **overlay})
        shutil.rmtree(folder / "files")
        lines.append(f"converted {where} ({changed} changed lines)")
    return lines
