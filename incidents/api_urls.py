"""The incidents app's routes under /api/v1/ (included by config/api_urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents import api

router = SimpleRouter()
router.register("incidents", api.IncidentViewSet, basename="incident")
router.register("imports", api.ImportJobViewSet, basename="import")

urlpatterns = [
    path("incidents/<int:incident_pk>/updates/", api.IncidentUpdatesView.as_view(), name="incident-updates"),
    path("incidents/<int:incident_pk>/affected/", api.IncidentAffectedView.as_view(), name="incident-affected"),
    path("flight-events/", api.FlightEventsView.as_view(), name="flight-events"),
    path("flight-bookings/", api.FlightBookingsView.as_view(), name="flight-bookings"),
    path("affected/<int:pk>/", api.AffectedDetailView.as_view(), name="affected-detail"),
    path("imports/<int:pk>/rejections/", api.ImportRejectionsView.as_view(), name="import-rejections"),
    path("imports/<int:pk>/rejections.csv", api.ImportRejectionsCsvView.as_view(), name="import-rejections-csv"),
    *router.urls,
]
