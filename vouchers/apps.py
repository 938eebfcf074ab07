from django.apps import AppConfig


class VouchersConfig(AppConfig):
    verbose_name = "Vouchers and compensation"
    name = "vouchers"
    default_auto_field = "django.db.models.BigAutoField"
