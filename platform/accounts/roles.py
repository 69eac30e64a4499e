"""Staff roles as groups with permissions. Candidates have no account."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

INTERVIEWERS = "Interviewers"
HIRING_MANAGERS = "Hiring managers"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    INTERVIEWERS: [
        "interviews.conduct_interview",
        "interviews.view_interview",
        "interviews.add_interview",
        "interviews.view_exercise",
    ],
    HIRING_MANAGERS: [
        "review.review_interview",
        "review.add_decision",
        "review.view_decision",
        "interviews.view_interview",
        "interviews.view_exercise",
    ],
}


def ensure_roles(**_: Any) -> None:
    """Create the role groups and give them exactly their permissions (idempotent)."""
    for group_name, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get_or_create(name=group_name)[0]
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)
