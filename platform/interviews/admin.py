from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from interviews.models import CandidateInvite, Exercise, Interview, TimelineEvent, WorkspaceFile


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "difficulty", "version_hash", "active", "synced_at"]


@admin.register(Interview)
class InterviewAdmin(admin.ModelAdmin):
    list_display = ["candidate_name", "exercise", "state", "scheduled_at"]
    list_filter = ["state", "exercise"]
    # The state machine lives in Interview.transition; editing it here would skip it.
    readonly_fields = ["state", "started_at", "ended_at"]


@admin.register(CandidateInvite)
class CandidateInviteAdmin(admin.ModelAdmin):
    list_display = ["interview", "created_at", "expires_at", "revoked_at", "redeemed_at"]
    readonly_fields = ["token_hash"]


@admin.register(WorkspaceFile)
class WorkspaceFileAdmin(admin.ModelAdmin):
    list_display = ["interview", "path", "version", "updated_at"]


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["interview", "at", "kind", "audience", "actor"]
    list_filter = ["kind"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # append-only
