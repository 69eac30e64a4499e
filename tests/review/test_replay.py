"""Rebuilding files from the timeline and diffing against the starter (no database)."""

from __future__ import annotations

from review.replay import diff_files, file_change, files_at

STARTER = {"app.py": "a = 1\n", "old.txt": "x\n"}


def changes():
    events = [
        ("started", {}),
        ("edit", {"path": "app.py", "content": "a = 2\n"}),
        ("file_created", {"path": "new.py"}),
        ("edit", {"path": "new.py", "content": "print('hi')\n"}),
        ("file_deleted", {"path": "old.txt"}),
        ("message", {"text": "done"}),
    ]
    return [file_change(kind, data) for kind, data in events]


def test_position_zero_is_the_starter():
    assert files_at(STARTER, changes(), 0) == STARTER


def test_each_position_shows_the_files_after_that_event():
    c = changes()
    assert files_at(STARTER, c, 2)["app.py"] == "a = 2\n"
    assert files_at(STARTER, c, 3)["new.py"] == ""
    assert files_at(STARTER, c, 4)["new.py"] == "print('hi')\n"
    assert "old.txt" in files_at(STARTER, c, 4)
    assert files_at(STARTER, c, 6) == {"app.py": "a = 2\n", "new.py": "print('hi')\n"}


def test_a_late_created_event_does_not_blank_an_edited_file():
    c = [
        file_change("edit", {"path": "n.py", "content": "x"}),
        file_change("file_created", {"path": "n.py"}),
    ]
    assert files_at({}, c, 2) == {"n.py": "x"}


def test_malformed_events_change_nothing():
    c = [file_change("edit", {"content": "no path"}), file_change("edit", {"path": 3})]
    assert c == [None, None]
    assert files_at(STARTER, c, 2) == STARTER


def test_diff_lists_added_removed_and_changed_files_only():
    final = files_at(STARTER, changes(), 6)
    diffs = {d.path: d for d in diff_files(STARTER, final)}
    assert set(diffs) == {"app.py", "new.py", "old.txt"}
    assert diffs["app.py"].status == "changed"
    assert (diffs["app.py"].added, diffs["app.py"].removed) == (1, 1)
    assert [(line.kind, line.text) for line in diffs["app.py"].lines if line.kind != "hunk"] == [
        ("del", "a = 1"),
        ("add", "a = 2"),
    ]
    assert diffs["new.py"].status == "added" and diffs["old.txt"].status == "removed"


def test_the_scrubber_gets_the_files_at_every_position_folded_on_the_server():
    from review.replay import scrubber_data, timeline

    c = changes()
    data = scrubber_data(timeline(STARTER, c), c)
    assert len(data["states"]) == len(c) + 1
    for at, row in enumerate(data["states"]):
        files = {data["paths"][i]: data["contents"][t] for i, t in enumerate(row) if t >= 0}
        assert files == files_at(STARTER, c, at)
    assert data["changed"] == [None, None, "app.py", "new.py", "new.py", "old.txt", None]
    # The deleted file is gone: the focus is the last file an event touched that is still there.
    assert data["focus"] == ["app.py", "app.py", "app.py", "new.py", "new.py", "new.py", "new.py"]
    assert data["contents"].count("a = 2\n") == 1  # each text once
