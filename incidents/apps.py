from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    verbose_name = "Incidents"
    name = "incidents"
    default_auto_field = "django.db.models.BigAutoField"
