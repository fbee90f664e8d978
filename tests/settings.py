"""Test settings: every provider configured against hosts that `responses` intercepts."""

import os

os.environ.setdefault("DJANGO_TASKS_BACKEND", "immediate")
os.environ.setdefault("MASKED_NUMBERS_CONSOLE_ECHO", "0")  # the suite's output stays readable
os.environ.setdefault("MESSAGEBIRD_ACCESS_KEY", "test_messagebird_access_key")
os.environ.setdefault("MESSAGEBIRD_SIGNING_KEY", "test-messagebird-signing-key-of-32-bytes")
os.environ.setdefault("MESSAGEBIRD_API_URL", "https://rest.messagebird.test")
os.environ.setdefault("FLOWROUTE_ACCESS_KEY", "test_flowroute_access")
os.environ.setdefault("FLOWROUTE_SECRET_KEY", "test_flowroute_secret")
os.environ.setdefault("FLOWROUTE_WEBHOOK_TOKEN", "test-flowroute-webhook-token")
os.environ.setdefault("FLOWROUTE_API_URL", "https://api.flowroute.test/v2.1")
os.environ.setdefault("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000001")
os.environ.setdefault("TWILIO_AUTH_TOKEN", "test-twilio-auth-token")
os.environ.setdefault("TWILIO_API_URL", "https://api.twilio.test")
os.environ.setdefault("BIRD_API_KEY", "bk_us1_test-bird-api-key")
os.environ.setdefault("BIRD_WEBHOOK_SECRET", "whsec_dGVzdC1iaXJkLXdlYmhvb2stc2VjcmV0LTMyYnl0ZXM=")
os.environ.setdefault("BIRD_API_URL", "https://api.bird.test")

from maskednumbers.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MASKED_NUMBERS_DELIVERY = {
    **MASKED_NUMBERS_DELIVERY,  # noqa: F405
    "BACKOFF_BASE_SECONDS": 1.0,
    "BACKOFF_MAX_SECONDS": 60.0,
}
