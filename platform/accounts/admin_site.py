"""The Django admin, for administrators only.

The admin's model pages show every interview, candidate and note with no
per-interview rule, so being "staff" is not enough: an interviewer or a hiring
manager marked staff would read other interviewers' candidates' names and
emails there. Only superusers (the operator's admin account) get in; the roles
work in the app's own pages, which do check who may see which interview.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest


class AdminsOnlySite(AdminSite):
    site_header = "Faultline administration"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)
