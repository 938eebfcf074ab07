from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Proactive Care: coordinator's workbench"
admin.site.site_title = "Proactive Care"
admin.site.index_title = "Disruptions, customers, letters and vouchers"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("briefings/", include("care.briefings.urls")),
    path("api/v1/", include("config.api_urls", namespace="v1")),
    # The ESPs' tracking webhooks, e.g. /anymail/postmark/tracking/ (see care.tracking).
    path("anymail/", include("anymail.urls")),
]
