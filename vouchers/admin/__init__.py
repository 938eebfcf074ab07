"""The vouchers workbench: one module per page family (Django's admin autodiscovery imports this package)."""

from vouchers.admin.compensation import FORECAST_INLINE_LIMIT, forecast_panel, incident_compensation_panel
from vouchers.admin.vouchers import csv_safe

__all__ = ["FORECAST_INLINE_LIMIT", "csv_safe", "forecast_panel", "incident_compensation_panel"]
