from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.simulator, name="simulator"),
    path("api/messages/", views.simulator_messages, name="simulator-messages"),
    path("api/sms/", views.simulator_sms, name="simulator-sms"),
    path("api/call/", views.simulator_call, name="simulator-call"),
]
