"""The Celery application. Workers start with `celery -A faultline worker`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faultline.settings")

app = Celery("faultline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Interviews whose time box ran out are ended (and graded) even if nobody clicks "End".
app.conf.beat_schedule = {
    "end-overdue-interviews": {
        "task": "grading.tasks.end_overdue_interviews",
        "schedule": 30.0,
    },
    # Runs whose worker died without a word are taken over or failed, never left running.
    "sweep-test-runs": {
        "task": "grading.tasks.sweep_runs",
        "schedule": 60.0,
    },
}
