"""How the review pages word a timeline event: a summary, a detail and the file it touched."""

from __future__ import annotations

from collections.abc import Mapping

from grading.score_text import score_text
from interviews.models import TimelineEvent
from review.replay import FILE_EVENT_KINDS


def event_summary(event: TimelineEvent) -> tuple[str, str, str]:
    """(summary, detail, path) of an event in plain words."""
    data = event.data if isinstance(event.data, Mapping) else {}
    kind = event.kind
    path = str(data.get("path", "")) if kind in FILE_EVENT_KINDS else ""
    if kind == "edit":
        return f"edited {path}", "", path
    if kind == "file_created":
        return f"created {path}", "", path
    if kind == "file_deleted":
        return f"deleted {path}", "", path
    if kind == "run":
        return "ran the visible tests", "", ""
    if kind == "run_result":
        summary = data.get("summary") or {}
        counts = ", ".join(
            f"{summary[k]} {k}" for k in ("passed", "failed", "error", "skipped") if summary.get(k)
        )
        return f"test run {data.get('state', '')}", counts, ""
    if kind == "submitted":
        return "submitted for grading", "", ""
    if kind == "joined":
        browser = str(data.get("browser") or "")
        where = f" ({browser})" if browser else ""
        if data.get("took_over") and data.get("returned"):
            return f"went back to an earlier browser{where}; the other stopped editing", "", ""
        if data.get("took_over"):
            return (
                f"opened the interview in a second browser{where}; the first stopped editing",
                "",
                "",
            )
        return f"joined{where}", "", ""
    if kind == "task_revealed":
        return f"task revealed: {data.get('title', '')}", "", ""
    if kind == "message":
        role = data.get("role") or event.actor or ""
        return f"message from {role}", str(data.get("text", "")), ""
    if kind == "note":
        return "interviewer's note", str(data.get("text", "")), ""
    if kind == "rating":
        return (
            f"rated {data.get('criterion', '')}: {data.get('level', '')}",
            str(data.get("comment", "")),
            "",
        )
    if kind == "graded":
        return f"graded: {score_text(data.get('overall'))} / 100", "", ""
    if kind == "decision":
        return f"decision: {data.get('outcome', '')}", str(data.get("comment", "")), ""
    if kind == "fault":
        told = " (the candidate was told)" if data.get("told_candidate") else ""
        scenario = str(data.get("scenario") or data.get("name") or "")
        return f"fault scenario switched{told}", scenario, ""
    if kind == "live":
        # The live preview's app: started (again, after a save), crashed, failed, stopped.
        return f"preview app {data.get('state', '')}", str(data.get("detail", "")), ""
    if kind == "terminal":
        if data.get("cut"):
            return "terminal recording cut off", str(data["cut"]), ""
        frames = [f for f in data.get("frames") or [] if isinstance(f, list) and len(f) >= 3]
        typed = "".join(str(f[2]) for f in frames if f[1] in ("i", "j"))
        typed = " ⏎ ".join(line.strip() for line in typed.replace("\n", "\r").split("\r"))
        typed = "".join(ch for ch in typed if ch >= " ")[:200].strip(" ⏎")
        if any(f[1] == "x" for f in frames):
            return "the shell ended", next(str(f[2]) for f in frames if f[1] == "x"), ""
        return ("typed in the terminal", typed, "") if typed else ("terminal output", "", "")
    return kind.replace("_", " "), "", ""
