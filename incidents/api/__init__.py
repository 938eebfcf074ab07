"""The incidents API (/api/v1/): incidents, their transitions and timeline, affected customers, imports.

Views parse and render; every write goes through incidents.services or incidents.ingest.services.
Tokens read with the ``read`` scope and write with ``ingest``; staff sessions follow the roles' model
permissions (a rep's session reads, a coordinator's writes).

One module per resource: incidents.api.incidents (incidents, transitions, timeline), incidents.api.affected
(affected customers and their import, the body limits), incidents.api.imports (import jobs, rejections) and
incidents.api.flights (the flight status feed) and incidents.api.bookings (the manifest), for tokens with the
``flights`` scope.
This package re-exports the views incidents/api_urls.py routes.
"""

from incidents.api.affected import AffectedDetailView, IncidentAffectedView
from incidents.api.bookings import FlightBookingsView
from incidents.api.flights import FlightEventsView
from incidents.api.imports import ImportJobViewSet, ImportRejectionsCsvView, ImportRejectionsView
from incidents.api.incidents import IncidentUpdatesView, IncidentViewSet

__all__ = [
    "AffectedDetailView",
    "FlightBookingsView",
    "FlightEventsView",
    "ImportJobViewSet",
    "ImportRejectionsCsvView",
    "ImportRejectionsView",
    "IncidentAffectedView",
    "IncidentUpdatesView",
    "IncidentViewSet",
]
