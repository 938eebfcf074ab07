"""/api/v1/: each app contributes its routes here (one include per app)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

app_name = "v1"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("vouchers.api_urls")),
]
