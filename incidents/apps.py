from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_schedules(sender: AppConfig, **kwargs: Any) -> None:
    from incidents.schedules import schedules_ensure

    schedules_ensure()


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import incidents.alert_tasks  # noqa: F401  (registers the beat task with Celery)

        post_migrate.connect(_ensure_schedules, dispatch_uid="incidents.ensure_schedules")
