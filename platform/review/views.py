from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from interviews.models import Interview


@permission_required("review.review_interview", raise_exception=True)
def review_list(request: HttpRequest) -> HttpResponse:
    interviews = Interview.objects.filter(state__in=["graded", "reviewed"])
    return render(request, "review/list.html", {"interviews": interviews})
