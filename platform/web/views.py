"""Pages: the interviewer's dashboard and console, the invite landing and the candidate's room.

Views are thin: parse, check who is asking, call one service, respond.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from grading.selectors import stuck_interviews
from interviews import services as interview_services
from interviews.models import Interview
from web import access, presence, selectors
from web.forms import ScheduleForm

# Raw invite tokens the interviewer issued in this browser session, so "Copy
# link" keeps working on the dashboard; the database stores only their hashes.
SESSION_LINKS = "invite_links"
SESSION_INVITE = "candidate_invite"
# Which browser this is, to the interview: it is open in one browser at a time.
SESSION_DEVICE = "candidate_device"
REVOKED_MESSAGE = (
    "Your interviewer revoked the link you joined with, so this interview is closed to this "
    "browser. If you think that is a mistake, ask them for a new link."
)


def _member_interview(request: HttpRequest, interview_id: int) -> Interview:
    assert isinstance(request.user, User)
    interview = access.staff_interview(request.user, interview_id)
    if interview is None:
        raise Http404("No interview of yours has this number.")
    return interview


def _invite_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("web:invite", args=[token]))


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        if request.session.get(SESSION_INVITE):
            return redirect("web:room")
        return redirect("login")
    if request.user.has_perm(access.CONDUCT):
        return redirect("web:dashboard")
    if request.user.has_perm("review.review_interview"):
        return redirect("review:list")
    return access.forbidden(request, "Your account has no role yet. Ask an administrator for one.")


def _dashboard_context(request: HttpRequest, form: ScheduleForm) -> dict[str, object]:
    assert isinstance(request.user, User)
    links = {
        int(k): _invite_url(request, v) for k, v in request.session.get(SESSION_LINKS, {}).items()
    }
    lists = selectors.dashboard_lists(request.user)
    sections = [("Live", "live"), ("Upcoming", "upcoming"), ("Past", "past")]
    return {
        "form": form,
        "stuck": set(
            stuck_interviews().filter(interviewers=request.user).values_list("pk", flat=True)
        ),
        "sections": [
            (
                title,
                key,
                [(i, links.get(i.pk), selectors.invite_status(i)) for i in lists[key]],
            )
            for title, key in sections
        ],
    }


@login_required
@require_GET
@access.interviewers_only("Only interviewers can schedule and conduct interviews.")
def dashboard(request: HttpRequest) -> HttpResponse:
    context = _dashboard_context(request, ScheduleForm())
    context["issued"] = request.GET.get("issued")
    return render(request, "web/dashboard.html", context)


@login_required
@require_POST
@access.interviewers_only("Only interviewers can schedule interviews.")
def schedule(request: HttpRequest) -> HttpResponse:
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        context = _dashboard_context(request, form)
        return render(request, "web/dashboard.html", context, status=400)
    exercise = form.cleaned_data["exercise"]
    assert isinstance(request.user, User)  # login_required
    interview, token = interview_services.interview_create(
        exercise=exercise,
        candidate_name=form.cleaned_data["candidate_name"],
        candidate_email=form.cleaned_data["candidate_email"],
        interviewers=[request.user],
        created_by=request.user,
        scheduled_at=form.cleaned_data["scheduled_at"],
        duration_minutes=form.cleaned_data["duration_minutes"],
        starter_files=selectors.starter_files(exercise),
    )
    _remember_link(request, interview.pk, token)
    return HttpResponseRedirect(f"{reverse('web:dashboard')}?issued={interview.pk}")


def _remember_link(request: HttpRequest, interview_id: int, token: str | None) -> None:
    links = dict(request.session.get(SESSION_LINKS, {}))
    if token is None:
        links.pop(str(interview_id), None)
    else:
        links[str(interview_id)] = token
    request.session[SESSION_LINKS] = links


@login_required
@require_POST
@access.interviewers_only("Only interviewers can issue invite links.")
def invite_reissue(request: HttpRequest, interview_id: int) -> HttpResponse:
    interview = _member_interview(request, interview_id)
    token = interview_services.invite_reissue(interview=interview)
    _remember_link(request, interview.pk, token)
    return HttpResponseRedirect(f"{reverse('web:dashboard')}?issued={interview.pk}")


@login_required
@require_POST
@access.interviewers_only("Only interviewers can revoke invite links.")
def invite_revoke(request: HttpRequest, interview_id: int) -> HttpResponse:
    interview = _member_interview(request, interview_id)
    interview_services.invite_revoke(interview=interview)
    _remember_link(request, interview.pk, None)
    return redirect("web:dashboard")


@login_required
@require_GET
@access.interviewers_only("Only interviewers can open the interview console.")
def console(request: HttpRequest, interview_id: int) -> HttpResponse:
    interview = _member_interview(request, interview_id)
    config = {"socket": f"/ws/console/{interview.pk}/", "interview": interview.pk}
    return render(request, "web/console.html", {"interview": interview, "config": config})


@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, token: str) -> HttpResponse:
    """The invite link: GET shows a page (link previewers must not use it up), POST joins."""
    found = access.invite_for_token(token)
    problem = (
        "This invite link is not valid. Check that you copied all of it."
        if found is None
        else found.problem()
    )
    if problem:
        title = found.problem_title() if found is not None else "This invite link is not valid"
        return render(
            request,
            "web/message.html",
            {"title": title, "message": problem},
            status=410 if found is not None else 404,
        )
    assert found is not None
    same_invite = request.session.get(SESSION_INVITE) == found.pk
    device = request.session.get(SESSION_DEVICE) if same_invite else None
    if request.method == "GET":
        current = interview_services.candidate_device(found.interview)
        elsewhere = bool(current) and current != device
        return render(
            request, "web/invite.html", {"interview": found.interview, "elsewhere": elsewhere}
        )
    device = device or secrets.token_urlsafe(9)
    try:
        interview_services.invite_redeem(
            token=token,
            device=device,
            browser=presence.browser_label(request.headers.get("User-Agent", "")),
        )
    except interview_services.InviteError as exc:
        return render(
            request,
            "web/message.html",
            {"title": "This invite cannot be used", "message": str(exc)},
            status=410,
        )
    # A fresh session id on joining: a session fixed by someone else before
    # the candidate joined must not end up holding the interview.
    request.session.cycle_key()
    request.session[SESSION_INVITE] = found.pk
    request.session[SESSION_DEVICE] = device
    # The token never appears in the room's URL, history or Referer headers.
    return redirect("web:room")


@require_GET
def room(request: HttpRequest) -> HttpResponse:
    invite_id = request.session.get(SESSION_INVITE)
    interview = access.candidate_interview(invite_id)
    if interview is None and access.invite_was_revoked(invite_id):
        return render(
            request,
            "web/message.html",
            {"title": "Your invite link was revoked", "message": REVOKED_MESSAGE},
            status=403,
        )
    if interview is None:
        return access.forbidden(
            request,
            "This page opens from your invite link. If your link stopped working, "
            "ask your interviewer for a new one.",
        )
    config = {"socket": "/ws/room/", "interview": interview.pk}
    return render(request, "web/room.html", {"interview": interview, "config": config})


@require_POST
def room_take_over(request: HttpRequest) -> HttpResponse:
    """ "Use this browser instead": the interview moves back here from the other browser."""
    interview = access.candidate_interview(request.session.get(SESSION_INVITE))
    if interview is None:
        return access.forbidden(
            request,
            "This page opens from your invite link. If your link stopped working, "
            "ask your interviewer for a new one.",
        )
    device = request.session.get(SESSION_DEVICE) or secrets.token_urlsafe(9)
    request.session[SESSION_DEVICE] = device
    interview_services.candidate_join(
        interview=interview,
        device=device,
        browser=presence.browser_label(request.headers.get("User-Agent", "")),
    )
    return redirect("web:room")
