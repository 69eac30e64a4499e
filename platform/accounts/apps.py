from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.roles import ensure_roles

        # After every migrate, so the groups exist on a fresh database and pick
        # up permissions added by later migrations.
        post_migrate.connect(ensure_roles, dispatch_uid="faultline.ensure_roles")
