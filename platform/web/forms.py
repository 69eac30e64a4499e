"""The interviewer's scheduling form."""

from __future__ import annotations

from django import forms

from interviews.models import Exercise


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
