"""The interviewer's scheduling form."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.formats import date_format

from interviews.models import Exercise

# A time typed as "now" is a minute or two old by the time the form is sent.
PAST_SLACK = timedelta(minutes=5)


class ScheduleForm(forms.Form):
    exercise = forms.ModelChoiceField(
        queryset=Exercise.objects.filter(active=True), empty_label=None
    )
    candidate_name = forms.CharField(max_length=200)
    candidate_email = forms.EmailField()
    scheduled_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Leave empty for now.",
    )
    duration_minutes = forms.IntegerField(
        required=False,
        min_value=10,
        max_value=480,
        help_text="Leave empty for the exercise's time box.",
    )

    def clean_scheduled_at(self) -> datetime | None:
        value: datetime | None = self.cleaned_data.get("scheduled_at")
        if value is not None and value < timezone.now() - PAST_SLACK:
            shown = date_format(timezone.localtime(value), "D j M Y, H:i")
            raise forms.ValidationError(
                f"{shown} is in the past. Choose a time from now on, or leave it empty "
                "to hold the interview now."
            )
        return value
