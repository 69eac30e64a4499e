from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from grading.models import Rating, Scorecard, Snapshot, TestRun


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["digest", "file_count", "total_bytes", "created_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # immutable


@admin.register(TestRun)
class TestRunAdmin(admin.ModelAdmin):
    list_display = ["id", "interview", "kind", "state", "attempts", "created_at"]
    list_filter = ["kind", "state"]


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ["interview", "overall", "rubric_version", "updated_at"]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["interview", "criterion_id", "level", "rated_by", "rated_at"]
