from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    from django.apps import apps

    from care.roles import sync_roles

    sync_roles(apps)


class CareConfig(AppConfig):
    name = "care"
    verbose_name = "Customers and correspondence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # dispatch_uid: one sync per migrate run, after every app's permissions exist.
        post_migrate.connect(_sync_roles, dispatch_uid="care.sync_roles")

        from anymail.signals import tracking

        from care import checks  # noqa: F401  (registers the system checks)
        from care.tracking import tracking_received

        # The ESP's tracking webhooks (and the outbox's simulated events) arrive through this signal.
        tracking.connect(tracking_received, dispatch_uid="care.tracking_received")
