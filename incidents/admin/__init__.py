"""The incidents workbench: one module per page family (Django's admin autodiscovery imports this package)."""

from incidents import admin_imports  # noqa: F401 - registers the imports of affected customers
from incidents.admin import bookings, flights, incidents, records, timeline  # noqa: F401 - register every page
