"""What the interview room and console offer, as the PM scripts may name it.

A PM script (the [pm] and [tasks.pm] parts of exercise.toml) is read aloud or
acted on during a live interview: a script that tells the interviewer to switch
the provider to "flaky" or the candidate to curl their app sends both looking for
something that is not there. Every feature a script could name is declared here
with the phrases that name it; the loader refuses a script that names a feature
that is not `available`. When a feature lands (say the live preview), flip
`available` and its phrases become allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ConsoleFeature:
    id: str
    what: str  # in plain words, as an error message shows it
    available: bool
    phrases: tuple[re.Pattern[str], ...] = ()


def _p(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


FEATURES: tuple[ConsoleFeature, ...] = (
    # What the candidate's room offers.
    ConsoleFeature("edit-files", "the candidate edits, creates and deletes files", True),
    ConsoleFeature("run-visible-tests", "the candidate runs the visible tests", True),
    ConsoleFeature("test-output", "each test run's results and output, in room and console", True),
    ConsoleFeature("submit", "the candidate submits for grading by the hidden suite", True),
    ConsoleFeature("chat", "messages between the candidate and the PM", True),
    # What the interviewer's console offers.
    ConsoleFeature("watch-code", "the interviewer watches the candidate's files live", True),
    ConsoleFeature("reveal-task", "the interviewer reveals the next task", True),
    ConsoleFeature("private-notes", "private, timestamped notes", True),
    ConsoleFeature("rate-criteria", "rating the interviewer-scored rubric criteria", True),
    ConsoleFeature("end-interview", "ending the interview, which grades the last snapshot", True),
    # Both sides' Preview (platform/preview) and the interviewer's fault switchboard.
    ConsoleFeature(
        "live-preview",
        "a live preview of the candidate's running app (Preview, with its Logs and Requests)",
        True,
        _p(r"\blive[- ]preview\b", r"\bpreview\b"),
    ),
    ConsoleFeature(
        "provider-scenario",
        "switching the fake provider to a fault scenario (slow, flaky, outage, garbage)",
        True,
        _p(
            r"""["'`]?\b(?:slow|flaky|outage|garbage)\b["'`]?\s+scenarios?\b""",
            r"""\bprovider\s+(?:is\s+)?(?:on|to|in)\s+(?:the\s+)?["'`]?(?:slow|flaky|outage|garbage)\b""",
            r"""\b(?:slow|flaky)\s+(?:fake\s+)?provider\b""",
            r"\bscenarios?\b",
        ),
    ),
    # Not there yet: nobody can run commands by hand.
    ConsoleFeature(
        "shell",
        "a terminal: running commands such as curl, python -m or uvicorn by hand",
        False,
        _p(
            r"\bcurl\b",
            r"\bpython3?\s+-m\b",
            r"\bLLM_BASE_URL=",
            r"\b(?:a|the|your)\s+(?:terminal|shell)\b",
        ),
    ),
    ConsoleFeature(
        "open-the-app",
        "opening the candidate's app in a browser or sending it requests by hand",
        False,
        _p(
            r"\bopen\s+(?:the\s+app|the\s+page|(?:two|a|another)\s+tabs?)\b",
            r"\bhttps?://\S+",
            r"\b(?:look\s+at|open|call|hit|request|visit)\s+(?:GET|POST|PUT|DELETE)\s+/\S*",
        ),
    ),
)

AVAILABLE = tuple(f for f in FEATURES if f.available)


@dataclass(frozen=True)
class Mention:
    """A phrase in a script that names a feature the console does not have."""

    phrase: str
    feature: ConsoleFeature


def missing_features(text: str) -> Iterator[Mention]:
    """Each unavailable feature `text` names, once, with the first phrase that names it."""
    for feature in FEATURES:
        if feature.available:
            continue
        for pattern in feature.phrases:
            match = pattern.search(text)
            if match:
                yield Mention(match.group(0).strip(), feature)
                break


def offered() -> str:
    """What a script may name, for an error's "expected" part."""
    return "only what the room and console offer: " + "; ".join(f.what for f in AVAILABLE)
