from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from providers.api import ProxyNumberViewSet

from . import views

router = DefaultRouter()
router.register("numbers", ProxyNumberViewSet, basename="number")

urlpatterns = [
    # The vendors' webhooks first: every text and call is resolved against this list,
    # and no other path here begins like theirs.
    path("", include("providers.urls")),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("simulator/", include("simulator.urls")),
    path("api/", include(router.urls)),
    path("api/", include("rides.urls")),
    path("api/", include("conversations.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
