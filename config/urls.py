from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from care.core.api.errors import api_not_found

admin.site.site_header = "Proactive Care: coordinator's workbench"
admin.site.site_title = "Proactive Care"
admin.site.index_title = "Disruptions, customers, letters and vouchers"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("briefings/", include("care.briefings.urls")),
    path("api/v1/", include("config.api_urls", namespace="v1")),
    # Any other URL under api/ gets the API's JSON error body, not Django's HTML 404 page.
    re_path(r"^api(?:/|$)", api_not_found, name="api-not-found"),
    # The configured ESP's tracking webhook, e.g. /anymail/postmark/tracking/ (see config.webhook_urls).
    path("anymail/", include("config.webhook_urls")),
    # The SMS provider's status callbacks and inbound messages (config.sms_urls), e.g. /sms/twilio/status/.
    path("sms/", include("config.sms_urls")),
    # The public page of one letter, from the signed link in an SMS (config.letter_urls), e.g. /l/<token>/.
    path("l/", include("config.letter_urls")),
]
