from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from .services import simulator_enabled


def simulator_link(request: HttpRequest) -> dict[str, str]:
    """`simulator_url` for the admin's link to the simulator: empty when it is not offered."""
    return {"simulator_url": reverse("simulator") if simulator_enabled() else ""}
