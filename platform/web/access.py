"""Who may open what: an interviewer reaches only their own interviews, a candidate
session only the interview of an invite it redeemed and that was not revoked since."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from interviews.models import CandidateInvite, Interview, hash_token

CONDUCT = "interviews.conduct_interview"
View = Callable[..., HttpResponse]


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    context = {"status": 403, "title": "You cannot open this page", "message": message}
    return render(request, "web/error.html", context, status=403)


def interviewers_only(message: str) -> Callable[[View], View]:
    """The view answers only users who may conduct interviews; others see `message` (403)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not (request.user.is_authenticated and request.user.has_perm(CONDUCT)):
                return forbidden(request, message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def staff_can_conduct(user: User | AnonymousUser, interview: Interview) -> bool:
    """An interviewer reaches an interview only if they are one of its interviewers."""
    if not user.is_authenticated or not user.has_perm(CONDUCT):
        return False
    return interview.interviewers.filter(pk=user.pk).exists()


def staff_interview(user: User | AnonymousUser, interview_id: int) -> Interview | None:
    interview = Interview.objects.select_related("exercise").filter(pk=interview_id).first()
    if interview is None or not staff_can_conduct(user, interview):
        return None
    return interview


def candidate_interview(invite_id: Any) -> Interview | None:
    """The interview a candidate session opens, unless its invite was revoked since."""
    if not isinstance(invite_id, int):
        return None
    invite = (
        CandidateInvite.objects.select_related("interview", "interview__exercise")
        .filter(pk=invite_id, revoked_at__isnull=True, redeemed_at__isnull=False)
        .first()
    )
    return invite.interview if invite else None


def invite_was_revoked(invite_id: Any) -> bool:
    return (
        isinstance(invite_id, int)
        and CandidateInvite.objects.filter(pk=invite_id, revoked_at__isnull=False).exists()
    )


def invite_for_token(token: str) -> CandidateInvite | None:
    return (
        CandidateInvite.objects.select_related("interview", "interview__exercise")
        .filter(token_hash=hash_token(token))
        .first()
    )
