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
        # Register the tasks with Celery in every process: services publish them by name (care.core.background).
        import incidents.alert_tasks
        import incidents.tasks  # noqa: F401

        post_migrate.connect(_ensure_schedules, dispatch_uid="incidents.ensure_schedules")
