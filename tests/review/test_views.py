"""The review pages as a hiring manager, an interviewer, an outsider and a candidate see them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from interviews.models import Interview, TimelineEvent
from review.models import Decision
from tests.review.conftest import TESTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(make_graded: Any) -> tuple[Interview, Interview]:
    strong = make_graded("Riley Reference", ratings={"communication": 3})
    weak = make_graded(
        "Morgan Mutant",
        failing={"test_faults.py::test_fault[stall]", "test_faults.py::test_fault[garbage]"},
    )
    return strong, weak


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def urls(interview: Interview, other: Interview) -> list[tuple[str, str]]:
    pk = interview.pk
    return [
        ("get", reverse("review:list")),
        ("get", reverse("review:scorecard", args=[pk])),
        ("get", reverse("review:replay", args=[pk])),
        ("get", reverse("review:compare") + f"?ids={pk}&ids={other.pk}"),
        ("get", reverse("review:distribution", args=[interview.exercise.slug])),
        ("get", reverse("review:export_csv")),
        ("get", reverse("review:export_json")),
        ("post", reverse("review:decide", args=[pk])),
        ("post", reverse("review:regrade", args=[pk])),
    ]


# ---------------------------------------------------------------- permissions


def test_outsider_gets_403_everywhere_and_decides_nothing(personas, two):
    strong, weak = two
    c = client_for(personas["outsider"])
    for method, url in urls(strong, weak):
        response = getattr(c, method)(url, {"outcome": "advance"} if method == "post" else None)
        assert response.status_code == 403, url
        assert b"Riley" not in response.content
    strong.refresh_from_db()
    assert strong.state == "graded" and not Decision.objects.exists()


def test_interviewer_without_review_role_gets_403(personas, two):
    strong, weak = two
    c = client_for(personas["interviewer"])
    for method, url in urls(strong, weak):
        assert getattr(c, method)(url).status_code == 403, url


def test_anonymous_is_sent_to_login(two):
    strong, weak = two
    c = Client()
    for method, url in urls(strong, weak):
        response = getattr(c, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")
    assert not Decision.objects.exists()


def test_candidate_session_sees_nothing(two):
    """A candidate's browser carries an invite session, never an account."""
    strong, weak = two
    c = Client()
    session = c.session
    session["candidate_invite"] = 1  # the key web.views sets after an invite
    session.save()
    for method, url in urls(strong, weak):
        response = getattr(c, method)(url)
        assert response.status_code in {302, 403}, url
        assert b"Riley" not in response.content


def test_reader_without_add_decision_cannot_decide(personas, two):
    from django.contrib.auth.models import Permission

    strong, _ = two
    reader = personas["outsider"]
    reader.user_permissions.add(Permission.objects.get(codename="review_interview"))
    c = client_for(reader)
    page = c.get(reverse("review:scorecard", args=[strong.pk]))
    assert page.status_code == 200
    assert b'data-testid="decision-form"' not in page.content
    response = c.post(reverse("review:decide", args=[strong.pk]), {"outcome": "reject"})
    assert response.status_code == 403
    assert not Decision.objects.exists()


# ---------------------------------------------------------------- list


def test_list_shows_scores_bars_interviewer_and_filters(personas, two, make_graded):
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:list")).content.decode()
    assert "Riley Reference" in page and "Morgan Mutant" in page
    assert "ivy" in page  # the interviewer
    assert 'class="rv-bars"' in page and "Error handling" in page
    # highest score first, unscored last
    page = c.get(reverse("review:list"), {"sort": "-overall"}).content.decode()
    assert page.index("Riley Reference") < page.index("Morgan Mutant")
    page = c.get(reverse("review:list"), {"sort": "overall"}).content.decode()
    assert page.index("Morgan Mutant") < page.index("Riley Reference")
    page = c.get(reverse("review:list"), {"q": "morgan"}).content.decode()
    assert "Morgan Mutant" in page and "Riley Reference" not in page


def test_list_filters_by_state_and_exercise(personas, two, make_graded):
    from interviews.models import Exercise

    other = Exercise.objects.create(
        slug="other", title="Other exercise", version_hash="x", manifest=two[0].exercise.manifest
    )
    make_graded("Olive Other", for_exercise=other, state="reviewed")
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:list"), {"exercise": "other"}).content.decode()
    assert "Olive Other" in page and "Riley Reference" not in page
    page = c.get(reverse("review:list"), {"state": "graded"}).content.decode()
    assert "Olive Other" not in page and "Riley Reference" in page


def test_list_leaves_out_interviews_not_graded_yet(personas, exercise):
    Interview.objects.create(
        exercise=exercise,
        exercise_version="v1",
        candidate_name="Lara Live",
        candidate_email="l@example.com",
        state="live",
    )
    c = client_for(personas["hiring_manager"])
    assert "Lara Live" not in c.get(reverse("review:list")).content.decode()


def test_hostile_candidate_name_is_escaped(personas, make_graded):
    make_graded("<script>alert(1)</script> Eve")
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:list")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Eve" in page


# ---------------------------------------------------------------- scorecard


def test_scorecard_shows_evidence_levels_ratings_notes_and_version(personas, two):
    _, weak = two
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:scorecard", args=[weak.pk])).content.decode()
    card = weak.scorecards.get()
    assert card.overall is not None and f"{card.overall:g}" in page
    # evidence in plain words, with the failing test's output on demand
    assert "survives a provider that stalls mid-stream: no" in page
    assert "survives a provider that fails with 500: yes" in page
    assert "got 500 (test_faults.py::test_fault[stall])" in page
    # the anchored level the criterion reached is marked
    assert 'aria-current="true"><span class="rv-level-n">1</span> Some faults handled.' in page
    assert "1 of 3 tests passed" in page
    assert "Asked about retries early." in page  # the interviewer's note
    assert card.rubric_version.startswith("sha256:") and card.rubric_version in page
    # communication was not rated for this candidate
    assert 'data-testid="unrated"' in page and "Communication" in page


def test_scorecard_shows_the_interviewers_rating(personas, two):
    strong, _ = two
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:scorecard", args=[strong.pk])).content.decode()
    assert "Rated <strong>3</strong> by ivy" in page
    assert "Talked through the retry budget." in page
    assert 'data-testid="unrated"' not in page


INJECTS = "Renders <b>text</b> from the server as HTML"


def test_a_critical_fault_stands_first_on_the_scorecard_and_the_list(personas, make_graded):
    ina = make_graded(
        "Ina Injects",
        failing={"test_api.py::test_compat"},
        critical={"test_api.py::test_compat": INJECTS},
        ratings={"communication": 3},
    )
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:scorecard", args=[ina.pk])).content.decode()
    shown = "Renders &lt;b&gt;text&lt;/b&gt; from the server as HTML"
    assert 'data-testid="critical"' in page and shown in page
    # Before the overall and every criterion, and the cap is said in words.
    assert page.index(shown) < page.index('data-testid="overall"')
    assert "The overall is capped at 60 (it would be 75)." in page
    assert ina.scorecards.get().overall == 60.0
    listing = c.get(reverse("review:list")).content.decode()
    assert shown in listing and "<b>text</b>" not in listing


def test_an_old_stored_scorecard_without_critical_faults_still_displays(personas, make_graded):
    old = make_graded("Olga Old", failing={"test_faults.py::test_fault[stall]"})
    card = old.scorecards.get()
    card.data = {
        k: v for k, v in card.data.items() if k not in {"critical", "uncapped_overall", "version"}
    }
    for c in card.data["criteria"]:
        c.pop("capped_by", None)
    card.save()
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:scorecard", args=[old.pk])).content.decode()
    assert 'data-testid="criterion"' in page and 'data-testid="critical"' not in page
    assert "survives a provider that stalls mid-stream: no" in page
    assert c.get(reverse("review:list")).status_code == 200


def test_scorecard_of_an_interview_not_ended_is_404(personas, exercise):
    live = Interview.objects.create(
        exercise=exercise,
        exercise_version="v1",
        candidate_name="Lara Live",
        candidate_email="l@example.com",
        state="live",
    )
    c = client_for(personas["hiring_manager"])
    assert c.get(reverse("review:scorecard", args=[live.pk])).status_code == 404
    assert c.get(reverse("review:replay", args=[live.pk])).status_code == 404


def test_test_output_is_escaped(personas, make_graded):
    from grading.models import TestRun

    weak = make_graded("Morgan Mutant", failing={"test_api.py::test_fields"})
    run = TestRun.objects.get(interview=weak)
    report = run.result["report"]
    report["tests"][3]["output"] = "<img src=x onerror=alert(1)>"
    card = weak.scorecards.get()
    card.data = {**card.data, "report": report}
    card.save()
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:scorecard", args=[weak.pk])).content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


# ---------------------------------------------------------------- decision


def test_decision_is_recorded_with_who_and_when_and_moves_to_reviewed(personas, two):
    strong, _ = two
    manager = personas["hiring_manager"]
    c = client_for(manager)
    response = c.post(
        reverse("review:decide", args=[strong.pk]),
        {"outcome": "advance", "comment": "Survived every fault; clear about trade-offs."},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Recorded: Advance for Riley Reference." in page
    decision = Decision.objects.get(interview=strong)
    assert decision.decided_by == manager and decision.outcome == "advance"
    assert decision.overall == strong.scorecards.get().overall
    strong.refresh_from_db()
    assert strong.state == "reviewed"
    event = strong.events.get(kind="decision")
    assert event.audience == TimelineEvent.Audience.STAFF and event.actor == "hank"
    assert event.data["outcome"] == "advance"
    assert "Survived every fault" in page and "by <strong>hank</strong>" in page


def test_a_reviewed_interview_can_be_decided_again(personas, two):
    strong, _ = two
    c = client_for(personas["hiring_manager"])
    c.post(reverse("review:decide", args=[strong.pk]), {"outcome": "hold"})
    c.post(reverse("review:decide", args=[strong.pk]), {"outcome": "advance", "comment": "ok"})
    assert list(strong.decisions.values_list("outcome", flat=True)) == ["advance", "hold"]
    page = c.get(reverse("review:list")).content.decode()
    assert "rv-decision-advance" in page


def test_bad_outcome_records_nothing(personas, two):
    strong, _ = two
    c = client_for(personas["hiring_manager"])
    response = c.post(reverse("review:decide", args=[strong.pk]), {"outcome": "hire!"}, follow=True)
    assert "Choose advance, hold or reject." in response.content.decode()
    strong.refresh_from_db()
    assert strong.state == "graded" and not Decision.objects.exists()


def test_an_ended_interview_nothing_grades_is_listed_with_grade_again(personas, make_graded):
    # Submitted, then ended with no edit in between, before issue 18's fix: the run
    # finished and the interview stayed "ended" for good.
    from interviews.models import WorkspaceFile

    stuck = make_graded("Sam Stuck", state="ended")
    for path, content in stuck.test_runs.get().snapshot.files.items():
        WorkspaceFile.objects.create(interview=stuck, path=path, content=content)
    make_graded("Gus Graded")
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:list")).content.decode()
    assert 'data-testid="stuck-list"' in page
    stuck_list = page[page.index('data-testid="stuck-list"') : page.index("</section>")]
    assert "Sam Stuck" in stuck_list and "Gus Graded" not in stuck_list
    assert reverse("review:regrade", args=[stuck.pk]) in stuck_list

    response = c.post(reverse("review:regrade", args=[stuck.pk]), follow=True)
    page = response.content.decode()
    assert "Sam Stuck is graded." in page
    assert 'data-testid="stuck-list"' not in page
    stuck.refresh_from_db()
    assert stuck.state == "graded" and stuck.scorecards.count() == 1
    # Graded now: a second "grade again" is refused with the reason, nothing changes.
    again = c.post(reverse("review:regrade", args=[stuck.pk]), follow=True).content.decode()
    assert "nothing to grade again" in again
    assert stuck.test_runs.count() == 1


def test_grade_again_is_refused_to_everyone_but_reviewers(personas, make_graded):
    stuck = make_graded("Sam Stuck", state="ended")
    url = reverse("review:regrade", args=[stuck.pk])
    candidate = Client()
    session = candidate.session
    session["candidate_invite"] = 1
    session.save()
    assert client_for(personas["outsider"]).post(url).status_code == 403
    assert client_for(personas["interviewer"]).post(url).status_code == 403
    assert Client().post(url)["Location"].startswith("/accounts/login/")
    assert candidate.post(url).status_code in {302, 403}
    stuck.refresh_from_db()
    assert stuck.state == "ended"


def test_ended_but_ungraded_interview_cannot_be_decided(personas, exercise):
    ended = Interview.objects.create(
        exercise=exercise,
        exercise_version="v1",
        candidate_name="Ed Ended",
        candidate_email="e@example.com",
        state="ended",
    )
    c = client_for(personas["hiring_manager"])
    response = c.post(
        reverse("review:decide", args=[ended.pk]), {"outcome": "advance"}, follow=True
    )
    assert "a decision needs a graded scorecard" in response.content.decode()
    ended.refresh_from_db()
    assert ended.state == "ended" and not Decision.objects.exists()


def test_decision_get_is_not_allowed(personas, two):
    c = client_for(personas["hiring_manager"])
    assert c.get(reverse("review:decide", args=[two[0].pk])).status_code == 405


# ---------------------------------------------------------------- replay


def test_replay_rebuilds_the_code_at_each_moment_and_diffs_the_final(personas, make_graded):
    first = "def answer(q):\n    return call_model(q, timeout=5)\n"
    second = (
        "def answer(q):\n    try:\n        return call_model(q, timeout=5)\n"
        "    except E:\n        return 502\n"
    )
    interview = make_graded(
        "Riley Reference",
        edits=[("app/main.py", first), ("app/main.py", second)],
        final={"app/main.py": second, "README.md": "# Ask\n"},
    )
    c = client_for(personas["hiring_manager"])
    url = reverse("review:replay", args=[interview.pk])

    def source(at: int) -> str:
        page = c.get(url, {"at": str(at), "file": "app/main.py"}).content.decode()
        return page.split('data-testid="source"')[1].split("</pre>")[0]

    # events: started, task_revealed, edit, edit, message, note, submitted, graded
    assert "return call_model(q)\n" in source(0)
    assert "call_model(q, timeout=5)" in source(3) and "except E" not in source(3)
    assert "except E" in source(4) and "except E" in source(8)
    end = c.get(url).content.decode()
    assert "Should a 429 be retried?" in end and "Asked about retries early." in end
    assert "Final diff against the starter" in end
    assert 'class="rv-dl-add"' in end and "return 502" in end
    assert 'id="replay-data"' in end


# ---------------------------------------------------------------- compare


def test_compare_puts_candidates_side_by_side_with_a_distribution(personas, two):
    strong, weak = two
    c = client_for(personas["hiring_manager"])
    response = c.get(reverse("review:compare"), {"ids": [strong.pk, weak.pk]})
    assert response.status_code == 200
    page = response.content.decode()
    table = page.split('data-testid="compare"')[1].split("</table>")[0]
    assert table.index("Riley Reference") < table.index("Morgan Mutant")
    assert "Error handling" in table and "Every fault gives a clean 502/503/504." in table
    assert "Some faults handled." in table
    assert "<svg" in page and 'data-testid="distribution"' in page
    assert "2 graded interviews" in page


def test_compare_refuses_one_candidate_or_two_exercises(personas, two, make_graded):
    from interviews.models import Exercise

    strong, _ = two
    other = Exercise.objects.create(
        slug="other", title="Other", version_hash="x", manifest=strong.exercise.manifest
    )
    elsewhere = make_graded("Olive Other", for_exercise=other)
    c = client_for(personas["hiring_manager"])
    one = c.get(reverse("review:compare"), {"ids": [strong.pk]})
    assert one.status_code == 400 and "at least two" in one.content.decode()
    mixed = c.get(reverse("review:compare"), {"ids": [strong.pk, elsewhere.pk]})
    assert mixed.status_code == 400 and "same exercise" in mixed.content.decode()


# ---------------------------------------------------------------- exports


def test_csv_export_has_a_row_per_interview_and_a_column_per_criterion(personas, two):
    strong, _ = two
    c = client_for(personas["hiring_manager"])
    c.post(reverse("review:decide", args=[strong.pk]), {"outcome": "advance", "comment": "yes"})
    response = c.get(reverse("review:export_csv"), {"sort": "-overall"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["candidate"] for r in rows] == ["Riley Reference", "Morgan Mutant"]
    riley, morgan = rows
    assert riley["decision"] == "advance" and riley["decided_by"] == "hank"
    assert float(riley["error-handling"]) == 3.0 and float(morgan["error-handling"]) == 1.0
    assert morgan["communication"] == "" and morgan["complete"] == "no"
    assert float(riley["overall"]) == strong.scorecards.get().overall


def test_csv_export_defuses_formulas_in_untrusted_text(personas, make_graded):
    make_graded('=HYPERLINK("http://x") Mallory')
    c = client_for(personas["hiring_manager"])
    rows = list(csv.DictReader(io.StringIO(c.get(reverse("review:export_csv")).content.decode())))
    assert rows[0]["candidate"].startswith("'=")


def test_json_export_carries_the_whole_scorecard(personas, two):
    _, weak = two
    c = client_for(personas["hiring_manager"])
    response = c.get(reverse("review:export_json"), {"ids": [weak.pk]})
    data = json.loads(response.content)
    assert [s["candidate"] for s in data["scorecards"]] == ["Morgan Mutant"]
    card = data["scorecards"][0]["scorecard"]
    assert card["rubric_version"] == weak.scorecards.get().rubric_version
    handling = next(cr for cr in card["criteria"] if cr["id"] == "error-handling")
    assert [e["outcome"] for e in handling["evidence"]] == ["passed", "failed", "failed"]
    # The rubric and the report it was scored from, though the platform stores each once.
    assert card["rubric"]["id"] == weak.scorecards.get().rubric["id"]
    stalled = next(t for t in card["report"]["tests"] if t["id"].endswith("[stall]"))
    assert stalled["outcome"] == "failed" and "AssertionError" in stalled["output"]


# ---------------------------------------------------------------- distribution


def test_distribution_counts_every_graded_interview_of_the_exercise(personas, two, make_graded):
    from review.selectors import score_distribution

    make_graded("Sam Starter", failing={test_id for test_id, _, _ in TESTS})
    strong, weak = two
    dist = score_distribution(strong.exercise, highlight=[weak.pk])
    assert dist.total == 3
    overall = {name: score for name, score, _ in dist.scores}
    for name, score in overall.items():
        bin_ = next(b for b in dist.bins if name in b.candidates)
        assert bin_.low <= score <= bin_.high
    chart = dist.chart()
    assert [m.name for m in chart.markers] == ["Morgan Mutant"]
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.height == 120.0 and tallest.bin.count == dist.peak
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:distribution", args=[strong.exercise.slug])).content.decode()
    assert "3 graded interviews" in page and "<rect" in page
