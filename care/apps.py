from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    from django.apps import apps

    from care.core.roles import sync_roles

    sync_roles(apps)


def _unicode_upper(value: str | None) -> str | None:
    return None if value is None else value.upper()


def _sqlite_unicode_upper(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite's built-in UPPER folds ASCII only, so "fernández" would never match "Fernández" on the embedded
    default while it does on PostgreSQL. Searches compare UPPER() of both sides; give SQLite Python's Unicode
    upper case (deterministic, so the UPPER expression indexes still work)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("UPPER", 1, _unicode_upper, deterministic=True)


class CareConfig(AppConfig):
    name = "care"
    verbose_name = "Customers and correspondence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # dispatch_uid: one sync per migrate run, after every app's permissions exist.
        post_migrate.connect(_sync_roles, dispatch_uid="care.sync_roles")
        connection_created.connect(_sqlite_unicode_upper, dispatch_uid="care.sqlite_unicode_upper")

        from anymail.signals import tracking

        import care.tasks  # noqa: F401  (registers the tasks that services publish by name)
        from care.core import checks  # noqa: F401  (registers the system checks)
        from care.correspondence.tracking import tracking_received
        from care.correspondence.voucher_letters import letters_carry_new_vouchers, letters_withdraw_voided_vouchers
        from vouchers.signals import vouchers_issued, vouchers_voided

        vouchers_issued.connect(letters_carry_new_vouchers, dispatch_uid="care.letters_carry_new_vouchers")
        vouchers_voided.connect(letters_withdraw_voided_vouchers, dispatch_uid="care.letters_withdraw_voided_vouchers")
        # The ESP's tracking webhooks (and the outbox's simulated events) arrive through this signal.
        tracking.connect(tracking_received, dispatch_uid="care.tracking_received")
