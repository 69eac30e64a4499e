"""Mutants as patches: the applier is strict, the writer round-trips, and the authoring
commands create, refresh and convert mutants that load and grade the same files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from exercises import catalog
from exercises.__main__ import main
from exercises.patches import PatchError, apply_patch, make_patch

ROOT = Path(catalog.__file__).resolve().parent

SOLUTION = {
    "app/main.py": b"import os\n\n\ndef answer():\n    return 42\n\n\nprint(answer())\n",
    "app/util.py": b"def helper():\n    return 1\n",
    "static/app.js": b"render();",  # no newline at the end
}


def test_a_patch_round_trips_changes_creations_deletions_and_missing_newlines():
    edited = {
        "app/main.py": SOLUTION["app/main.py"].replace(b"42", b"41"),
        "app/extra.py": b"EXTRA = True\n",
        "static/app.js": b"render();\nrender();",
    }
    patch = make_patch(SOLUTION, edited)
    assert "--- a/app/util.py\n+++ /dev/null\n" in patch
    assert "--- /dev/null\n+++ b/app/extra.py\n" in patch
    assert "\\ No newline at end of file" in patch
    assert apply_patch(SOLUTION, patch) == edited
    assert make_patch(SOLUTION, SOLUTION) == ""


def test_git_apply_accepts_the_patches_it_writes(tmp_path):
    for rel, data in SOLUTION.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    edited = {**SOLUTION, "app/main.py": b"import sys\n" + SOLUTION["app/main.py"]}
    del edited["app/util.py"]
    edited["app/new.py"] = b"x = 1\n"
    (tmp_path / "m.patch").write_text(make_patch(SOLUTION, edited))
    subprocess.run(["git", "apply", "m.patch"], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "m.patch").unlink()
    assert catalog.read_tree(tmp_path) == edited


def test_a_patch_from_diff_u_applies():
    patch = (
        "diff -ruN solution/app/util.py edited/app/util.py\n"
        "--- a/app/util.py\t2026-01-01 10:00:00.000000000 +0000\n"
        "+++ b/app/util.py\t2026-01-01 10:01:00.000000000 +0000\n"
        "@@ -1,2 +1,2 @@\n"
        " def helper():\n"
        "-    return 1\n"
        "+    return 2\n"
    )
    assert apply_patch(SOLUTION, patch)["app/util.py"] == b"def helper():\n    return 2\n"


def test_a_hunk_that_does_not_apply_names_the_file_and_both_lines():
    patch = make_patch(SOLUTION, {**SOLUTION, "app/main.py": b"import os\n"})
    stale = {**SOLUTION, "app/main.py": SOLUTION["app/main.py"].replace(b"42", b"43")}
    with pytest.raises(PatchError) as info:
        apply_patch(stale, patch)
    assert info.value.message == (
        "hunk @@ -1,8 +1,1 @@ (patch line 4) of app/main.py does not apply at line 5 of "
        "solution/app/main.py: the solution has '    return 43', the patch expects "
        "'    return 42' (stale: refresh the mutant)"
    )
    assert info.value.line == 9  # the patch's line with the expected text


def test_a_hunk_is_applied_only_where_its_header_says():
    # The same context one line lower is a stale mutant, not a place to search for.
    patch = make_patch(SOLUTION, {**SOLUTION, "app/util.py": b"def helper():\n    return 2\n"})
    shifted = {**SOLUTION, "app/util.py": b"# a comment\n" + SOLUTION["app/util.py"]}
    with pytest.raises(PatchError, match=r"does not apply at line 1 of solution/app/util.py"):
        apply_patch(shifted, patch)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("--- a/app/util.py", "--- a/../secrets.py"), "'../secrets.py' is outside the solution"),
        (("+++ b/app/util.py", "+++ b/../secrets.py"), "'../secrets.py' is outside the solution"),
        (("a/app/util.py", "a//etc/passwd"), "'/etc/passwd' is outside the solution"),
        (("--- a/app/util.py", "--- app/util.py"), "lacks the 'a/' prefix"),
        (("+++ b/app/util.py", "+++ b/app/other.py"), "renames 'app/util.py' to 'app/other.py'"),
        (("@@ -1,2 +1,2 @@", "@@ -1,3 +1,2 @@"), "ends before its last line"),
        (("@@ -1,2 +1,2 @@", "@@ -7,2 +7,2 @@"), "solution/app/util.py has 2 lines"),
    ],
)
def test_a_malformed_or_escaping_patch_is_refused(edit, message):
    patch = make_patch(SOLUTION, {**SOLUTION, "app/util.py": b"def helper():\n    return 2\n"})
    assert edit[0] in patch
    with pytest.raises(PatchError, match=re.escape(message)):
        apply_patch(SOLUTION, patch.replace(edit[0], edit[1]))


def test_creating_an_existing_file_or_changing_a_missing_one_is_refused():
    create = make_patch({}, {"app/util.py": b"x = 1\n"})
    with pytest.raises(
        PatchError, match=re.escape("creates app/util.py, which solution/ already has")
    ):
        apply_patch(SOLUTION, create)
    change = make_patch(SOLUTION, {**SOLUTION, "app/util.py": b"x = 1\n"})
    with pytest.raises(PatchError, match=re.escape("app/util.py is not a file of solution/")):
        apply_patch({"app/main.py": SOLUTION["app/main.py"]}, change)


def test_a_deletion_must_remove_every_line():
    deletion = make_patch(SOLUTION, {k: v for k, v in SOLUTION.items() if k != "app/util.py"})
    grown = {**SOLUTION, "app/util.py": SOLUTION["app/util.py"] + b"EXTRA = 1\n"}
    with pytest.raises(
        PatchError, match=re.escape("deletes app/util.py but leaves 1 of its lines")
    ):
        apply_patch(grown, deletion)


def test_binary_and_empty_patches_are_refused():
    with pytest.raises(PatchError, match="only text changes are supported"):
        apply_patch(
            SOLUTION, "diff --git a/x.png b/x.png\nBinary files a/x.png and b/x.png differ\n"
        )
    with pytest.raises(PatchError, match="an empty patch"):
        apply_patch(SOLUTION, "")


# The exercise loader and the authoring commands, on a private copy of add-metadata.


@pytest.fixture
def root(tmp_path):
    shutil.copytree(
        ROOT / "add-metadata",
        tmp_path / "add-metadata",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path


def load_problems(folder: Path) -> list[str]:
    with pytest.raises(catalog.SchemaError) as info:
        catalog.load(folder)
    return [str(i) for i in info.value.issues]


def test_a_solution_change_that_stales_a_mutant_fails_the_load(root):
    models = root / "add-metadata" / "solution" / "app" / "models.py"
    models.write_text(models.read_text().replace("return datetime.now(UTC)", "return now(UTC)"))
    assert load_problems(root / "add-metadata") == [
        "add-metadata/mutants/naive-datetime/mutant.patch: line 29: hunk @@ -44,4 +44,4 @@ "
        "(patch line 25) of app/models.py does not apply at line 47 of solution/app/models.py: "
        "the solution has '    return now(UTC)', the patch expects "
        "'    return datetime.now(UTC)' (stale: refresh the mutant) (expected a patch that "
        "applies to solution/ exactly, with no offset or fuzz)"
    ]


def test_a_mutant_needs_a_patch_and_an_overlay_is_refused(root):
    folder = root / "add-metadata" / "mutants" / "naive-datetime"
    (folder / "mutant.patch").unlink()
    (folder / "files").mkdir()
    assert load_problems(root / "add-metadata") == [
        "add-metadata/mutants/naive-datetime/mutant.toml: (files/): is an overlay of whole "
        "files, which keeps stale solution code (expected a mutant.patch: python -m exercises "
        "mutant add-metadata naive-datetime --convert)"
    ]
    (folder / "files").rmdir()
    assert load_problems(root / "add-metadata") == [
        "add-metadata/mutants/naive-datetime/mutant.toml: (mutant.patch): is missing (expected "
        "a unified diff against solution/: python -m exercises mutant add-metadata "
        "naive-datetime --from DIR)"
    ]


def test_mutant_commands_create_refresh_and_convert(root, tmp_path, capsys):
    exercise = root / "add-metadata"
    edited = tmp_path / "edited"
    shutil.copytree(exercise / "solution", edited, ignore=shutil.ignore_patterns("__pycache__"))
    main_py = edited / "app" / "main.py"
    main_py.write_text(main_py.read_text() + "\n# a harmless comment\n")
    (edited / "app" / "extra.py").write_text("EXTRA = 1\n")
    args = ["--root", str(root), "mutant", "add-metadata", "commented"]

    assert main([*args, "--from", str(edited)]) == 2  # a new mutant needs its metadata
    assert "a new mutant needs --criterion, --level, --description" in capsys.readouterr().err
    assert (
        main(
            [
                *args,
                "--from",
                str(edited),
                "--criterion",
                "correctness",
                "--level",
                "0",
                "--description",
                "adds a comment",
                "--spec",
                "metadata.model",
            ]
        )
        == 0
    )
    assert "wrote add-metadata/mutants/commented/mutant.patch (3 changed lines)" in (
        capsys.readouterr().out
    )
    loaded = catalog.load(exercise)
    assert loaded.mutant("commented").spec == ("metadata.model",)
    assert loaded.mutant_files("commented") == catalog.read_tree(edited)

    # Refresh: check it out, edit it, write it back; mutant.toml is kept.
    checkout = tmp_path / "checkout"
    assert main([*args, "--checkout", str(checkout)]) == 0
    assert catalog.read_tree(checkout) == catalog.read_tree(edited)
    (checkout / "app" / "extra.py").unlink()
    assert main([*args, "--from", str(checkout)]) == 0
    assert catalog.load(exercise).mutant_files("commented") == catalog.read_tree(checkout)

    # Convert an overlay: the mutant's files stay byte for byte the same.
    folder = exercise / "mutants" / "naive-datetime"
    before = catalog.load(exercise).mutant_files("naive-datetime")
    (folder / "mutant.patch").unlink()
    overlay = folder / "files" / "app" / "models.py"
    overlay.parent.mkdir(parents=True)
    overlay.write_bytes(before["app/models.py"])
    assert main(["--root", str(root), "mutant", "add-metadata", "--convert"]) == 0
    assert "converted add-metadata/mutants/naive-datetime/mutant.patch" in capsys.readouterr().out
    assert not (folder / "files").exists()
    assert catalog.load(exercise).mutant_files("naive-datetime") == before
