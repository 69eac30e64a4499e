from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default = True  # this module holds the admin's config too
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.roles import ensure_roles

        # After every migrate, so the groups exist on a fresh database and pick
        # up permissions added by later migrations.
        post_migrate.connect(ensure_roles, dispatch_uid="faultline.ensure_roles")


class AdminsOnlyAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with accounts.admin_site as its site (see there why)."""

    default = False  # not the config of the accounts app itself
    default_site = "accounts.admin_site.AdminsOnlySite"
