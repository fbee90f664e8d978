from rest_framework.routers import SimpleRouter

from .api import ConversationViewSet

router = SimpleRouter()
router.register("conversations", ConversationViewSet, basename="conversation")

urlpatterns = router.urls
