"""Command line for exercise authors and the platform's management commands.

    python -m exercises list
    python -m exercises check [SLUG ...] [--all] [--repeat N] [--backend B]
    python -m exercises grade --exercise SLUG --files DIR [--backend B] [--json]
    python -m exercises mutant SLUG NAME --from DIR [--criterion C --level N ...]
    python -m exercises mutant SLUG NAME --checkout DIR
    python -m exercises mutant SLUG [NAME] --convert

Backends: bwrap (default), docker, or local (UNSAFE: no isolation, authoring only).
Exit status: 0 ok; 1 a check failed; 2 bad usage or invalid exercise; 3 infrastructure failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rubrics import SchemaError

from . import catalog
from .check import check_exercise
from .grading import format_scorecard, grade_dir, profile_lines
from .mutants import MutantError, checkout_mutant, convert_overlays, write_mutant
from .runner import RunnerError


def cmd_list(args: argparse.Namespace) -> int:
    for ex in catalog.load_all(args.root):
        print(f"{ex.slug:20} {ex.difficulty:7} {ex.time_box_minutes:3} min  {ex.title}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    return check_main(
        args.slugs,
        all_=args.all,
        repeat=args.repeat,
        backend=args.backend,
        root=args.root,
        jobs=args.jobs,
        sharp=not args.reference_only,
    )


def check_main(
    slugs: Sequence[str],
    *,
    all_: bool = False,
    repeat: int = 1,
    backend: str | None = None,
    root: Path | str = catalog.DEFAULT_ROOT,
    out: Callable[[str], None] = print,
    jobs: int = 1,
    sharp: bool = True,
) -> int:
    """What `check` / `manage.py check_exercise` does; returns the exit status."""
    if not slugs and not all_:
        out("name one or more exercises, or --all")
        return 2
    try:
        exercises = catalog.load_all(root) if all_ else [catalog.find(s, root) for s in slugs]
    except SchemaError as exc:
        out(f"invalid exercise:\n{exc}")
        return 2
    except KeyError as exc:
        out(str(exc.args[0]))
        return 2
    if jobs <= 1 or len(exercises) <= 1:
        ok = True
        for ex in exercises:
            try:
                ok = (
                    check_exercise(ex, repeat=repeat, backend=backend, out=out, sharp=sharp).ok
                    and ok
                )
            except RunnerError as exc:
                out(f"infrastructure failure: {exc}")
                return 3
        return 0 if ok else 1
    return _check_concurrently(
        exercises, repeat=repeat, backend=backend, jobs=jobs, out=out, sharp=sharp
    )


def _check_concurrently(
    exercises: Sequence[catalog.Exercise],
    *,
    repeat: int,
    backend: str | None,
    jobs: int,
    out: Callable[[str], None],
    sharp: bool,
) -> int:
    """Check `jobs` exercises at a time; each one's lines are printed together, in order.

    A check mostly waits on its sandboxes (apps starting, faults timing out), so
    several at once use the machine's cores that one leaves idle.
    """

    def one(ex: catalog.Exercise) -> tuple[list[str], bool | None]:
        lines: list[str] = []
        try:
            check = check_exercise(
                ex, repeat=repeat, backend=backend, out=lines.append, sharp=sharp
            )
            return lines, check.ok
        except RunnerError as exc:
            lines.append(f"infrastructure failure: {exc}")
            return lines, None

    verdicts = []
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="check") as pool:
        # In catalog order: each block as soon as it and those before it are done.
        for lines, ok in pool.map(one, exercises):
            for line in lines:
                out(line)
            verdicts.append(ok)
    if None in verdicts:
        return 3
    return 0 if all(verdicts) else 1


def grade_main(
    slug: str,
    files: Path | str,
    *,
    backend: str | None = None,
    as_json: bool = False,
    profile: bool = False,
    root: Path | str = catalog.DEFAULT_ROOT,
    out: Callable[[str], None] = print,
) -> int:
    """What `grade` / `manage.py grade` does; returns the exit status.

    `profile` adds where the time went (grading.profile_lines) after the scorecard."""
    started = time.monotonic()
    try:
        exercise = catalog.find(slug, root)
    except SchemaError as exc:
        out(f"invalid exercise:\n{exc}")
        return 2
    except KeyError as exc:
        out(str(exc.args[0]))
        return 2
    try:
        result = grade_dir(exercise, files, backend=backend)
    except FileNotFoundError as exc:
        out(str(exc))
        return 2
    except RunnerError as exc:
        out(f"infrastructure failure: {exc}")
        return 3
    measured = time.monotonic() - started
    out(json.dumps(result.to_json()) if as_json else format_scorecard(result))
    if profile:
        out("")
        for line in profile_lines(result, measured):
            out(line)
    return 0


def cmd_mutant(args: argparse.Namespace) -> int:
    exercise = Path(args.root) / args.slug
    try:
        if args.convert:
            for line in convert_overlays(exercise, args.name):
                print(line)
        elif not args.name:
            raise MutantError("name the mutant (only --convert works on all of them)")
        elif args.checkout:
            checkout_mutant(exercise, args.name, Path(args.checkout))
            print(f"{args.slug}/{args.name} written to {args.checkout}: edit it, then --from")
        elif args.from_:
            print(
                write_mutant(
                    exercise,
                    args.name,
                    Path(args.from_),
                    criterion=args.criterion,
                    level=args.level,
                    description=args.description,
                    spec=args.spec,
                )
            )
        else:
            raise MutantError("say what to do: --from DIR, --checkout DIR or --convert")
    except MutantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exercises", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--root", default=str(catalog.DEFAULT_ROOT), help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the exercises").set_defaults(func=cmd_list)
    p = sub.add_parser("check", help="prove exercises are fair and sharp")
    p.add_argument("slugs", nargs="*")
    p.add_argument("--all", action="store_true")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--backend", default=None)
    p.add_argument("--jobs", type=int, default=1, help="exercises checked at once")
    p.add_argument(
        "--reference-only",
        action="store_true",
        help="only the reference's runs: no starter, no mutants",
    )
    p.set_defaults(func=cmd_check)
    g = sub.add_parser("grade", help="grade a directory of candidate files")
    g.add_argument("--exercise", required=True)
    g.add_argument("--files", required=True)
    g.add_argument("--backend", default=None)
    g.add_argument("--json", action="store_true")
    g.add_argument("--profile", action="store_true", help="print where the time went")
    g.set_defaults(
        func=lambda a: grade_main(
            a.exercise, a.files, backend=a.backend, as_json=a.json, profile=a.profile, root=a.root
        )
    )
    m = sub.add_parser(
        "mutant",
        help="write a mutant's patch from an edited copy of the solution",
        description="Create or refresh exercises/SLUG/mutants/NAME/mutant.patch.",
    )
    m.add_argument("slug")
    m.add_argument("name", nargs="?", default="")
    action = m.add_mutually_exclusive_group()
    action.add_argument(
        "--from",
        dest="from_",
        metavar="DIR",
        help="an edited copy of solution/: its difference becomes the patch",
    )
    action.add_argument(
        "--checkout", metavar="DIR", help="write solution/ with the patch applied to DIR"
    )
    action.add_argument(
        "--convert",
        action="store_true",
        help="turn a files/ overlay (every one without NAME) into a patch, files/ removed",
    )
    m.add_argument("--criterion", help="a new mutant's criterion (mutant.toml)")
    m.add_argument("--level", type=int, help="a new mutant's expected level")
    m.add_argument("--description", help="a new mutant's description")
    m.add_argument("--spec", nargs="*", default=None, help="a new mutant's spec sentence ids")
    m.set_defaults(func=cmd_mutant)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:  # the sandbox itself failing is exit 3, not a traceback
        from sandbox.spec import SandboxError

        if isinstance(exc, SandboxError):
            print(f"infrastructure failure: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
