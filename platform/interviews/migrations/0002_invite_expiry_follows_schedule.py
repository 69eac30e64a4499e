"""Links issued before expiry followed the schedule died 3 days after issue, however far off
the interview was: move each live link of an interview still to come (or running) to the
interview's end plus the grace period, never earlier than it was."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations


def follow_schedule(apps, schema_editor):
    invite_model = apps.get_model("interviews", "CandidateInvite")
    grace = timedelta(hours=settings.INVITE_GRACE_HOURS)
    live = invite_model.objects.filter(
        revoked_at__isnull=True, interview__state__in=["scheduled", "live"]
    ).select_related("interview")
    for invite in live:
        interview = invite.interview
        starts = [interview.scheduled_at, invite.created_at, interview.started_at]
        end = max(t for t in starts if t is not None) + timedelta(
            minutes=interview.duration_minutes
        )
        if end + grace > invite.expires_at:
            invite_model.objects.filter(pk=invite.pk).update(expires_at=end + grace)


class Migration(migrations.Migration):
    dependencies = [("interviews", "0001_initial")]

    operations = [migrations.RunPython(follow_schedule, migrations.RunPython.noop)]
