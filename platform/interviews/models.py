"""Exercises, interviews, invites, the candidate's workspace and the timeline."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from rubrics.schema import Rubric


class Exercise(models.Model):
    """An exercise folder under exercises/, mirrored by `sync_exercises`."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    difficulty = models.CharField(max_length=40, blank=True)
    time_box_minutes = models.PositiveIntegerField(default=60)
    version_hash = models.CharField(max_length=64)
    # The parsed manifest at the last sync (tasks, PM script, rubric), kept so a
    # running interview is not disturbed by an author editing the folder.
    manifest = models.JSONField(default=dict)
    active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title

    @property
    def rubric(self) -> Rubric | None:
        """The rubric as synced, typed (None for an exercise synced without one)."""
        data = self.manifest.get("rubric")
        return Rubric.from_dict(data) if data else None

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("tasks", []))


class IllegalTransition(Exception):
    """An interview was asked to move to a state it cannot reach from where it is."""


class Interview(models.Model):
    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"
        GRADED = "graded", "Graded"
        REVIEWED = "reviewed", "Reviewed"

    # The only legal moves. GRADED -> GRADED lets a re-grade (new ratings,
    # retried run) land without pretending the interview went backwards.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        State.SCHEDULED: {State.LIVE},
        State.LIVE: {State.ENDED},
        State.ENDED: {State.GRADED},
        State.GRADED: {State.GRADED, State.REVIEWED},
        State.REVIEWED: {State.GRADED},
    }

    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="interviews")
    exercise_version = models.CharField(max_length=64)
    candidate_name = models.CharField(max_length=200)
    candidate_email = models.EmailField()
    interviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="interviews")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    scheduled_at = models.DateTimeField(default=timezone.now)
    duration_minutes = models.PositiveIntegerField(default=60)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    revealed_tasks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at"]
        permissions = [
            ("conduct_interview", "Can schedule and conduct interviews"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_name} — {self.exercise.slug}"

    def transition(self, to: str) -> Interview:
        """Move to state `to`, or raise IllegalTransition. Returns the locked, updated row.

        Takes a row lock so two racing requests (the interviewer's "End" and the
        timer expiring) cannot both move the interview and both enqueue grading.
        """
        with transaction.atomic():
            locked = Interview.objects.select_for_update().get(pk=self.pk)
            if to not in self.TRANSITIONS.get(locked.state, set()):
                raise IllegalTransition(f"an interview cannot go from {locked.state} to {to}")
            now = timezone.now()
            locked.state = to
            if to == self.State.LIVE:
                locked.started_at = now
            elif to == self.State.ENDED:
                locked.ended_at = now
            locked.save(update_fields=["state", "started_at", "ended_at"])
        self.state, self.started_at, self.ended_at = (
            locked.state,
            locked.started_at,
            locked.ended_at,
        )
        return locked

    @property
    def deadline(self) -> Any:
        if self.started_at is None:
            return None
        return self.started_at + timedelta(minutes=self.duration_minutes)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_expiry(interview: Interview) -> Any:
    """When an invite issued now stops working: the interview's end plus a grace period.

    The end is counted from the scheduled time, or from now when that has passed (an
    interview that runs late, or a new link for a missed one), so a link issued weeks
    ahead still works on the day and never dies before the interview is over.
    """
    start = max(interview.scheduled_at, timezone.now())
    if interview.started_at is not None:
        start = max(start, interview.started_at)
    return start + timedelta(minutes=interview.duration_minutes, hours=settings.INVITE_GRACE_HOURS)


class CandidateInvite(models.Model):
    """An invite link. Only the hash of its token is stored."""

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="invites")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invite for {self.interview_id} (expires {self.expires_at:%Y-%m-%d %H:%M})"

    @classmethod
    def issue(
        cls, interview: Interview, ttl: timedelta | None = None
    ) -> tuple[CandidateInvite, str]:
        """Create an invite; returns it with the raw token, which is never stored.

        It expires `ttl` from now if given, else at `invite_expiry(interview)`.
        """
        token = secrets.token_urlsafe(32)
        expires_at = timezone.now() + ttl if ttl else invite_expiry(interview)
        invite = cls.objects.create(
            interview=interview, token_hash=hash_token(token), expires_at=expires_at
        )
        return invite, token

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    def problem(self) -> str | None:
        """Why this invite cannot be used, in words for the person holding it."""
        if self.revoked_at is not None:
            return "This invite link was revoked. Ask your interviewer for a new one."
        if self.expires_at <= timezone.now():
            when = timezone.localtime(self.expires_at).strftime("%a %-d %b %Y, %H:%M")
            return (
                f"This invite link expired on {when}, after the interview's scheduled time. "
                "Ask your interviewer for a new one; your interviewer can issue it from "
                "their dashboard in a moment."
            )
        return None

    def problem_title(self) -> str:
        if self.revoked_at is not None:
            return "This invite link was revoked"
        if self.expires_at <= timezone.now():
            return "This invite link has expired"
        return "This invite cannot be used"


class WorkspaceFile(models.Model):
    """The candidate's current text of one file, saved continuously while they type."""

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=255)
    content = models.TextField(blank=True)
    # Bumped on every save; a client edit based on an older version is refused
    # so a reconnecting tab never overwrites newer text.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["interview", "path"], name="one_file_per_path")
        ]

    def __str__(self) -> str:
        return self.path


class TimelineEvent(models.Model):
    """Append-only record of everything that happened in an interview."""

    class Kind(models.TextChoices):
        CREATED = "created"
        JOINED = "joined"
        STARTED = "started"
        ENDED = "ended"
        EDIT = "edit"
        FILE_CREATED = "file_created"
        FILE_DELETED = "file_deleted"
        RUN = "run"
        RUN_RESULT = "run_result"
        SUBMITTED = "submitted"
        TASK_REVEALED = "task_revealed"
        MESSAGE = "message"
        NOTE = "note"
        FAULT = "fault"
        LIVE = "live"  # the live preview's app: started, crashed, failed, stopped
        TERMINAL = "terminal"  # the live session's terminal: its bytes in and out, batched
        RATING = "rating"
        GRADED = "graded"
        DECISION = "decision"

    # Who may see an event: notes and ratings never reach the candidate.
    class Audience(models.TextChoices):
        ALL = "all"
        STAFF = "staff"

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.ALL)
    actor = models.CharField(max_length=200, blank=True)  # "candidate" or a username
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["interview", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("timeline events are append-only")
        super().save(*args, **kwargs)
