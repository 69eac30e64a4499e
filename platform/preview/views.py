"""The platform-origin side of the preview: the room's and the console's live pane poll
these for the app's state, its log, the fault switchboard and the request log."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from interviews.models import Interview, TimelineEvent
from preview import services
from preview.manager import Live, PreviewUnavailable, manager
from preview.tokens import Viewer
from web import access as web_access

SESSION_INVITE = "candidate_invite"


def _after(request: HttpRequest, name: str) -> int:
    try:
        return max(0, int(request.GET.get(name, "0")))
    except ValueError:
        return 0


def _refused(message: str, status: int = 403) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _pane(
    request: HttpRequest, interview: Interview, viewer: Viewer, *, staff: bool
) -> HttpResponse:
    if interview.state != Interview.State.LIVE:
        return JsonResponse(
            {"state": "not-live", "detail": "The preview runs while the interview is live."}
        )
    if not settings.PREVIEW_ORIGIN:
        return JsonResponse(
            {"state": "unavailable", "detail": "This server does not serve previews."}
        )
    try:
        live: Live = manager().ensure(interview.pk)
    except PreviewUnavailable as exc:
        return JsonResponse({"state": "unavailable", "detail": str(exc)})
    status = live.session.status()
    after = _after(request, "log")
    payload: dict[str, Any] = {
        "state": status.state,
        "detail": status.detail,
        "generation": status.generation,
        "preview_origin": services.preview_origin(viewer),
        "logs": [
            {"seq": ln.seq, "at": ln.at, "stream": ln.stream, "text": ln.text}
            for ln in live.session.logs.since(after)
        ],
    }
    if not staff:
        # Fault switches the interviewer chose to tell the candidate about.
        told = TimelineEvent.objects.filter(
            interview=interview,
            kind=TimelineEvent.Kind.FAULT,
            audience=TimelineEvent.Audience.ALL,
            pk__gt=_after(request, "notice"),
        ).order_by("pk")
        payload["notices"] = [
            {
                "id": e.pk,
                "scenario": e.data.get("scenario"),
                "description": e.data.get("description"),
            }
            for e in told
        ]
    if staff:
        try:
            payload["switchboard"] = live.switchboard.state()
            payload["requests"] = live.switchboard.events(_after(request, "req"))
        except Exception as exc:  # the sidecar is restarting or gone: say so, keep the pane
            payload["switchboard_error"] = f"the fake provider does not answer: {exc}"
    return JsonResponse(payload)


@require_GET
def room_live(request: HttpRequest) -> HttpResponse:
    invite_id = request.session.get(SESSION_INVITE)
    interview = web_access.candidate_interview(invite_id)
    if interview is None:
        return _refused("This preview opens from your invite link.")
    return _pane(request, interview, Viewer(interview.pk, invite_id=invite_id), staff=False)


def _staff(request: HttpRequest, interview_id: int) -> Interview | None:
    if not request.user.is_authenticated or not isinstance(request.user, User):
        return None
    return web_access.staff_interview(request.user, interview_id)


@require_GET
def console_live(request: HttpRequest, interview_id: int) -> HttpResponse:
    interview = _staff(request, interview_id)
    if interview is None:
        return _refused("Only the interview's interviewers see its preview.")
    assert isinstance(request.user, User)
    return _pane(request, interview, Viewer(interview.pk, user_id=request.user.pk), staff=True)


@require_POST
def console_scenario(request: HttpRequest, interview_id: int) -> HttpResponse:
    interview = _staff(request, interview_id)
    if interview is None:
        return _refused("Only the interview's interviewers switch its faults.")
    if interview.state != Interview.State.LIVE:
        return _refused("Faults can be switched while the interview is live.", 409)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _refused("The request is not JSON.", 400)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        return _refused("Choose a scenario.", 400)
    try:
        state = services.scenario_switch(
            interview=interview,
            name=name,
            actor=request.user.get_username(),
            tell_candidate=bool(body.get("tell_candidate")),
        )
    except ValueError as exc:
        return _refused(str(exc), 400)
    except PreviewUnavailable as exc:
        return _refused(str(exc), 503)
    return JsonResponse(state)
