from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from conversations.api import ConversationViewSet
from providers.api import MessageViewSet, OptOutViewSet, ProxyNumberViewSet
from rides.api import RideViewSet

from . import views

# One router for the whole API, so its root (/api/) lists every endpoint.
router = DefaultRouter()
router.register("numbers", ProxyNumberViewSet, basename="number")
router.register("rides", RideViewSet, basename="ride")
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("opt-outs", OptOutViewSet, basename="opt-out")
router.register("messages", MessageViewSet, basename="message")

urlpatterns = [
    # The vendors' webhooks first: every text and call is resolved against this list,
    # and no other path here begins like theirs.
    path("", include("providers.urls")),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("simulator/", include("simulator.urls")),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Split: its initialiser is a script file too, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]
