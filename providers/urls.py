from django.urls import path

from . import views

urlpatterns = [
    path("webhooks/<slug:alias>/sms/", views.sms_webhook, name="sms-webhook"),
    path("webhooks/<slug:alias>/sms/<str:token>/", views.sms_webhook, name="sms-webhook-token"),
    path("webhooks/<slug:alias>/voice/", views.voice_webhook, name="voice-webhook"),
    path("webhooks/<slug:alias>/receipts/", views.receipt_webhook, name="receipt-webhook"),
    path(
        "webhooks/<slug:alias>/receipts/<str:token>/",
        views.receipt_webhook,
        name="receipt-webhook-token",
    ),
    path("webhooks/<slug:alias>/", views.event_webhook, name="event-webhook"),
    # The paths of MessageBird's tutorial, kept so existing Flow Builder flows work.
    path("webhook", views.sms_webhook, {"alias": "messagebird"}, name="tutorial-sms-webhook"),
    path(
        "webhook-voice",
        views.voice_webhook,
        {"alias": "messagebird"},
        name="tutorial-voice-webhook",
    ),
]
