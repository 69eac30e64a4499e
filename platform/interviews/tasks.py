"""Periodic interview housekeeping."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from interviews.models import IllegalTransition, Interview
from interviews.services import interview_end

log = logging.getLogger(__name__)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def end_overdue_interviews() -> list[int]:
    """End live interviews whose time box has run out (which enqueues their grading)."""
    ended = []
    for interview in Interview.objects.filter(state=Interview.State.LIVE):
        deadline = interview.deadline
        if deadline is not None and deadline <= timezone.now():
            try:
                interview_end(interview=interview, actor="timer")
            except IllegalTransition:
                continue  # the interviewer ended it in the meantime
            except Exception:  # one interview that cannot end must not keep the others live
                log.exception("interview %s: ending it at its deadline failed", interview.pk)
                continue
            ended.append(interview.pk)
    return ended
