"""/api/v1/: each app contributes its routes here (one include per app)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

app_name = "v1"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="v1:schema"), name="docs"),
    path("", include("vouchers.api_urls")),
    path("", include("incidents.api_urls")),
    path("", include("care.api_urls")),
]
