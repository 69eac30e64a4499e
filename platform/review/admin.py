from django.contrib import admin

from review.models import Decision


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["interview", "outcome", "decided_by", "decided_at"]
