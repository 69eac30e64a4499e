from django import forms

from review.models import Decision
from review.services import MAX_COMMENT_CHARS


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=Decision.Outcome.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        required=False,
        max_length=MAX_COMMENT_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Why: what the evidence shows"}),
    )
