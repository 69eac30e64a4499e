"""Open candidate sockets, so presence is counted across tabs, processes and restarts."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from interviews.models import Interview


class CandidateConnection(models.Model):
    """One open socket of the candidate's room (a browser tab).

    A row per socket, not a flag per interview: closing one of two tabs leaves
    the candidate online. The database, not the process, holds them, so every
    web process (and either channel layer) counts the same rows; a server that
    dies without closing its sockets leaves rows that stop counting once they
    are not heard from (`seen_at`) or their process is gone.
    """

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=255, unique=True)
    # The browser (the session's device id), so the console can tell tabs from browsers.
    device = models.CharField(max_length=64, blank=True)
    # hostname:pid of the web process holding the socket.
    holder = models.CharField(max_length=255)
    connected_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["interview", "seen_at"])]

    def __str__(self) -> str:
        return f"{self.interview_id}: {self.channel_name}"
