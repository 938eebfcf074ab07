"""The care app's routes under /api/v1/ (included by config/api_urls.py)."""

from rest_framework.routers import SimpleRouter

from care.api import schema  # noqa: F401 - registers the token scheme with drf-spectacular
from care.api.briefings import BriefingViewSet
from care.api.customers import CustomerViewSet
from care.api.letters import LetterViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("letters", LetterViewSet, basename="letter")
router.register("briefings", BriefingViewSet, basename="briefing")

urlpatterns = router.urls
