"""The vouchers workbench: one module per page family (Django's admin autodiscovery imports this package)."""

import vouchers.admin.vouchers  # noqa: F401 - registers the voucher pages
from vouchers.admin.compensation import FORECAST_INLINE_LIMIT, forecast_panel, incident_compensation_panel

__all__ = ["FORECAST_INLINE_LIMIT", "forecast_panel", "incident_compensation_panel"]
