"""The live preview through the platform: a real live session (both backends) of a real
exercise, its preview origin served by the proxy on its own port, the console's
switchboard and request log, the room's log, restarts on save, capacity, timeline."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from django.test import Client
from preview import manager as live_manager
from preview import proxy
from preview.tokens import LIFETIME_HOURS, Viewer, label_for, read_label

from exercises import catalog
from grading import services as grading_services
from interviews import services as interview_services
from interviews.models import Exercise, Interview, TimelineEvent
from tests.live_server import free_port
from web import services as web_services

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MARKER = "Faultline-preview-marker-7"


@pytest.fixture
def origin(settings: Any) -> Iterator[tuple[int, str]]:
    """The preview origin's proxy on its own port, as `manage.py serve` runs it."""
    port = free_port()
    settings.PREVIEW_ORIGIN = f"http://preview.localhost:{port}"
    server = uvicorn.Server(
        uvicorn.Config(proxy.application, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield port, f"preview.localhost:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def start_interview(personas: dict[str, Any], name: str = "Cara") -> tuple[Interview, int]:
    spec = catalog.find("cancellation")
    exercise, _ = Exercise.objects.get_or_create(
        slug="cancellation",
        defaults={"title": spec.title, "version_hash": spec.version_hash, "manifest": {}},
    )
    files = {path: data.decode() for path, data in spec.solution_files().items()}
    interview, token = interview_services.interview_create(
        exercise=exercise,
        candidate_name=name,
        candidate_email=f"{name.lower()}@example.com",
        interviewers=[personas["interviewer"]],
        created_by=personas["interviewer"],
        starter_files=files,
    )
    invite = interview_services.invite_redeem(token=token)
    assert invite.pk == interview.pk
    interview = interview_services.interview_start(interview=interview, actor="ivy")
    invite_id = interview.invites.get().pk  # type: ignore[attr-defined]
    return interview, invite_id


def staff_client(personas: dict[str, Any], who: str = "interviewer") -> Client:
    client = Client()
    client.force_login(personas[who])
    return client


def wait_running(live: live_manager.LiveManager, interview: Interview) -> None:
    # Running, after retries if a loaded machine made a start miss its health timeout.
    session = live.ensure(interview.pk).session
    status = session.wait_for(lambda st: st.state in ("running", "gave-up", "stopped"), 180)
    assert status.state == "running", status.detail


def request(
    port: int, host: str, method: str, path: str, *, body: Any = None
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    return conn.getresponse()


def host_of(host: str, viewer: Viewer) -> str:
    """The viewer's own preview host (`<label>.<preview host>`)."""
    return f"{label_for(viewer)}.{host}"


def test_the_candidate_and_the_interviewers_see_the_app_and_no_one_else(
    live: live_manager.LiveManager, origin: tuple[int, str], personas: dict[str, Any]
) -> None:
    port, host = origin
    interview, invite_id = start_interview(personas)
    wait_running(live, interview)
    for viewer in (
        Viewer(interview.pk, invite_id=invite_id),
        Viewer(interview.pk, user_id=personas["interviewer"].pk),
    ):
        page = request(port, host_of(host, viewer), "GET", "/")
        assert page.status == 200
        assert "<html" in page.read().decode().lower()
        assert b"connect-src 'self'" in (page.getheader("content-security-policy") or "").encode()
    # The outsider and the hiring manager are no interviewers of it: their hosts open nothing.
    for who in ("outsider", "hiring_manager"):
        viewer = Viewer(interview.pk, user_id=personas[who].pk)
        assert request(port, host_of(host, viewer), "GET", "/").status == 403
        assert (
            staff_client(personas, who).get(f"/interviews/{interview.pk}/live").status_code == 403
        )
    # The bare preview host, a forged label, another interview's, or a rebound DNS name: refused.
    candidate = host_of(host, Viewer(interview.pk, invite_id=invite_id))
    forged = candidate.replace(candidate.split(".")[0][-4:], "aaaa", 1)
    other = host_of(host, Viewer(interview.pk + 1, invite_id=invite_id))
    for refused in (host, forged, other, f"127.0.0.1:{port}", "evil.example:80"):
        assert request(port, refused, "GET", "/").status == 403, refused
    # Once the interview ends, the same host opens nothing.
    grading_services.interview_end(interview=interview, actor="ivy")
    time.sleep(proxy.RECHECK_SECONDS)
    assert request(port, candidate, "GET", "/").status == 403


def test_the_console_switches_faults_and_sees_a_closed_preview_cancel_upstream(
    live: live_manager.LiveManager, origin: tuple[int, str], personas: dict[str, Any]
) -> None:
    port, host = origin
    interview, _ = start_interview(personas)
    wait_running(live, interview)
    console = staff_client(personas)
    pane = console.get(f"/interviews/{interview.pk}/live").json()
    assert pane["state"] == "running"
    names = [s["name"] for s in pane["switchboard"]["scenarios"]]
    assert "slow" in names and "long-answer" in names
    switched = console.post(
        f"/interviews/{interview.pk}/live/scenario",
        {"name": "long-answer"},
        content_type="application/json",
    )
    assert switched.status_code == 200 and switched.json()["scenario"] == "long-answer"
    fault = TimelineEvent.objects.get(interview=interview, kind="fault")
    assert fault.audience == "staff" and fault.data["scenario"] == "long-answer"
    # Not told: the candidate's pane has no notice. Told: it has one, with the description.
    room = Client()
    session = room.session
    session["candidate_invite"] = interview.invites.get().pk  # type: ignore[attr-defined]
    session.save()
    assert room.get("/room/live").json()["notices"] == []
    console.post(
        f"/interviews/{interview.pk}/live/scenario",
        {"name": "long-answer", "tell_candidate": True},
        content_type="application/json",
    )
    (told,) = room.get("/room/live").json()["notices"]
    assert told["scenario"] == "long-answer" and "close the tab" in told["description"]
    # Review's replay names both switches and the app's start.
    from review.selectors import replay_view

    summaries = [e.summary for e in replay_view(interview).events]
    assert "fault scenario switched" in summaries
    assert "fault scenario switched (the candidate was told)" in summaries
    assert "preview app running" in summaries
    # The candidate's page asks; the answer streams through the proxy; the tab closes.
    mine = host_of(host, Viewer(interview.pk, user_id=personas["interviewer"].pk))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        body = json.dumps({"question": "what reduces hallucination?"}).encode()
        sock.sendall(
            b"POST /api/answers HTTP/1.1\r\nHost: " + mine.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip
        seen = b""
        while b"event: token" not in seen:
            chunk = sock.recv(4096)
            assert chunk, f"the stream ended before a token: {seen[-500:]!r}"
            seen += chunk
    deadline = time.monotonic() + 30
    while True:
        requests = console.get(f"/interviews/{interview.pk}/live").json()["requests"]
        latest = {e["request"]["id"]: e["request"] for e in requests}
        if any(r["stream"] and r["cancelled"] for r in latest.values()):
            break
        assert time.monotonic() < deadline, f"no cancelled call in the log: {latest}"
        time.sleep(0.1)
    # An unknown scenario is refused naming the known ones; the outsider cannot switch.
    bad = console.post(
        f"/interviews/{interview.pk}/live/scenario",
        {"name": "nope"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "long-answer" in bad.json()["error"]
    outsider = staff_client(personas, "outsider").post(
        f"/interviews/{interview.pk}/live/scenario",
        {"name": "slow"},
        content_type="application/json",
    )
    assert outsider.status_code == 403


def test_saving_a_file_restarts_the_app_and_the_preview_serves_the_new_code(
    live: live_manager.LiveManager, origin: tuple[int, str], personas: dict[str, Any]
) -> None:
    port, host = origin
    interview, invite_id = start_interview(personas)
    wait_running(live, interview)
    mine = host_of(host, Viewer(interview.pk, invite_id=invite_id))
    index = interview.files.get(path="static/index.html")
    web_services.workspace_save(
        interview=interview,
        path="static/index.html",
        base_version=index.version,
        content=index.content.replace("</body>", f"<p>{MARKER}</p></body>"),
    )
    deadline = time.monotonic() + 60
    while MARKER not in request(port, mine, "GET", "/").read().decode():
        assert time.monotonic() < deadline, "the preview never served the saved file"
        time.sleep(0.1)
    # The restart and the app's start are on the timeline and in the room's log.
    states = [
        e.data["state"] for e in TimelineEvent.objects.filter(interview=interview, kind="live")
    ]
    assert states.count("running") >= 2
    room = Client()
    session = room.session
    session["candidate_invite"] = invite_id
    session.save()
    logs = room.get("/room/live").json()["logs"]
    assert any("answered /healthz" in line["text"] for line in logs)
    assert "switchboard" not in room.get("/room/live").json()


def test_a_full_server_says_so_instead_of_starting_another(
    live: live_manager.LiveManager, personas: dict[str, Any], settings: Any
) -> None:
    settings.PREVIEW_ORIGIN = "http://preview.localhost:8001"
    first, _ = start_interview(personas, "Cara")
    second, _ = start_interview(personas, "Dan")
    live.ensure(first.pk)
    pane = staff_client(personas).get(f"/interviews/{second.pk}/live").json()
    assert pane["state"] == "unavailable"
    assert "All 1 live previews of this server are in use" in pane["detail"]
    assert live.running() == [first.pk]


def test_platform_cookies_never_reach_the_app_and_its_cookies_stay_on_its_host() -> None:
    forwarded = proxy._forwarded_cookies(b"sessionid=SECRET; csrftoken=T; theme=dark")
    assert forwarded == b"theme=dark"
    headers = proxy._response_headers(
        [
            (b"Set-Cookie", b"sessionid=evil; Domain=localhost; Path=/"),
            (b"Connection", b"close"),
            (b"Content-Security-Policy", b"default-src *"),
        ]
    )
    assert headers == [
        (b"set-cookie", b"sessionid=evil; Path=/"),
        (b"content-security-policy", proxy.CSP),
    ]


def test_a_preview_host_names_its_viewer_and_expires(settings: Any) -> None:
    viewer = Viewer(12, user_id=3)
    label = label_for(viewer, now=1_000_000.0)
    assert len(label) <= 63 and label == label.lower()
    assert read_label(label, now=1_000_000.0) == viewer
    assert read_label(label.upper(), now=1_000_000.0) == viewer  # DNS is case-insensitive
    assert read_label(label, now=1_000_000.0 + (LIFETIME_HOURS + 1) * 3600) is None
    assert read_label(label.replace("i12-", "i13-"), now=1_000_000.0) is None
    settings.SECRET_KEY = "another"
    assert read_label(label, now=1_000_000.0) is None
