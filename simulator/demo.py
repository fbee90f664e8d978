"""The demo data: console numbers and people from the fictional 555-01xx range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from providers.models import Service

# (number, service, voice)
DEMO_NUMBERS = [
    ("+14155550100", Service.RIDES, True),
    ("+14155550101", Service.RIDES, True),
    ("+14155550102", Service.RIDES, False),
    ("+14155550110", Service.CONVERSATIONS, True),
    ("+14155550111", Service.CONVERSATIONS, False),
]

# (name, phone)
DEMO_CUSTOMERS = [
    ("Carla Customer", "+14155550120"),
    ("Cem Customer", "+14155550121"),
]
DEMO_DRIVERS = [
    ("Dana Driver", "+14155550130"),
    ("Dev Driver", "+14155550131"),
]


@dataclass(frozen=True)
class SampleRide:
    start: str
    destination: str
    pickup_in: timedelta


SAMPLE_RIDE = SampleRide(
    start="Ferry Building, Embarcadero",
    destination="SFO Terminal 2",
    pickup_in=timedelta(minutes=30),
)

# Phones with no account anywhere: people who pair up by conversation code.
ANONYMOUS_PHONES = [
    ("Ann", "+14155550140"),
    ("Ben", "+14155550141"),
    ("Cleo", "+14155550142"),
]
