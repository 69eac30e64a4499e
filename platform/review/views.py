"""Review pages for hiring managers. Thin: parse, check permission, call one reader
or service, respond. Only staff with review.review_interview see any of it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from grading import selectors as grading_selectors
from grading.services import grading_retry
from interviews.models import IllegalTransition, Interview
from review import exports, selectors, services
from review.forms import DecisionForm

REVIEW_PERMISSION = "review.review_interview"
DECIDE_PERMISSIONS = (REVIEW_PERMISSION, "review.add_decision")

View = Callable[..., HttpResponse]


def reviewer_required(*perms: str) -> Callable[[View], View]:
    """Anonymous visitors (candidates included) go to the login page; staff without the
    permissions get 403. Candidates have no account, so they never pass."""
    needed = perms or (REVIEW_PERMISSION,)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perms(needed):
                raise PermissionDenied("You need the hiring manager role to see reviews.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _reviewable(pk: int) -> Interview:
    return get_object_or_404(
        Interview.objects.select_related("exercise"),
        pk=pk,
        state__in=[Interview.State.ENDED, *selectors.REVIEWABLE_STATES],
    )


@require_GET
@reviewer_required()
def review_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.ReviewFilters.parse(request.GET)
    return render(
        request,
        "review/list.html",
        {
            "rows": selectors.review_rows(filters),
            "filters": filters,
            "exercises": selectors.exercises_with_reviews(),
            "states": selectors.REVIEWABLE_STATES,
            "sorts": selectors.SORTS,
            "query": request.GET.urlencode(),
            "stuck": grading_selectors.stuck_interviews(),
        },
    )


@require_POST
@reviewer_required()
def regrade(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Grade again" for an interview whose grading failed or never finished."""
    interview = get_object_or_404(Interview, pk=pk)
    try:
        run = grading_retry(interview=interview, requested_by=request.user.get_username())
    except (IllegalTransition, ValueError) as exc:  # ValueError: a workspace over its limits
        messages.error(request, f"{interview.candidate_name}: {exc}")
        return redirect("review:list")
    interview.refresh_from_db(fields=["state"])
    if interview.state == Interview.State.GRADED:
        messages.success(request, f"{interview.candidate_name} is graded.")
    else:
        messages.success(
            request, f"Grading {interview.candidate_name} again (run {run.pk}, {run.state})."
        )
    return redirect("review:list")


@require_GET
@reviewer_required()
def scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    view = selectors.scorecard_view(_reviewable(pk))
    return render(
        request,
        "review/scorecard.html",
        {
            "card": view,
            "interview": view.interview,
            "form": DecisionForm(),
            "can_decide": request.user.has_perms(DECIDE_PERMISSIONS),
        },
    )


@require_GET
@reviewer_required()
def replay(request: HttpRequest, pk: int) -> HttpResponse:
    raw = request.GET.get("at", "")
    position = int(raw) if raw.isdigit() else None
    view = selectors.replay_view(
        _reviewable(pk), position=position, path=request.GET.get("file", "")
    )
    return render(
        request,
        "review/replay.html",
        {"replay": view, "interview": view.interview, "payload": view.payload()},
    )


@require_POST
@reviewer_required(*DECIDE_PERMISSIONS)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    interview = _reviewable(pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose advance, hold or reject.")
        return redirect("review:scorecard", pk=pk)
    try:
        decision = services.decision_record(
            interview=interview,
            outcome=form.cleaned_data["outcome"],
            comment=form.cleaned_data["comment"],
            decided_by=request.user,  # type: ignore[arg-type]  # authenticated: checked above
        )
    except services.DecisionError as exc:
        messages.error(request, str(exc))
        return redirect("review:scorecard", pk=pk)
    messages.success(
        request,
        f"Recorded: {decision.get_outcome_display()} for {interview.candidate_name}.",
    )
    return redirect("review:scorecard", pk=pk)


@require_GET
@reviewer_required()
def compare(request: HttpRequest) -> HttpResponse:
    filters = selectors.ReviewFilters.parse({}, request.GET.getlist("ids"))
    try:
        view = selectors.compare_view(filters.ids)
    except selectors.CompareError as exc:
        return render(request, "review/compare.html", {"error": str(exc)}, status=400)
    return render(
        request, "review/compare.html", {"compare": view, "distribution": view.distribution}
    )


@require_GET
@reviewer_required()
def distribution(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = get_object_or_404(selectors.exercises_with_reviews(), slug=slug)
    return render(
        request,
        "review/distribution.html",
        {"distribution": selectors.score_distribution(exercise), "exercise": exercise},
    )


def _export_rows(request: HttpRequest) -> list[selectors.ReviewRow]:
    return selectors.review_rows(
        selectors.ReviewFilters.parse(request.GET, request.GET.getlist("ids"))
    )


def _export_name(ext: str) -> str:
    return f"faultline-scorecards-{timezone.now():%Y%m%d-%H%M}.{ext}"


@require_GET
@reviewer_required()
def export_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        exports.scorecards_csv(_export_rows(request)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name("csv")}"'
    return response


@require_GET
@reviewer_required()
def export_json(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(
        {"scorecards": exports.scorecards_json(_export_rows(request))},
        json_dumps_params={"indent": 2, "ensure_ascii": False},
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name("json")}"'
    return response
