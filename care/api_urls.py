"""The care app's routes under /api/v1/ (included by config/api_urls.py)."""

from rest_framework.routers import SimpleRouter

from care.briefings.api import BriefingViewSet
from care.core.api import schema  # noqa: F401 - registers the token scheme with drf-spectacular
from care.correspondence.api import LetterViewSet
from care.customers.api import CustomerViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("letters", LetterViewSet, basename="letter")
router.register("briefings", BriefingViewSet, basename="briefing")

urlpatterns = router.urls
