"""Retention for rides (called by the rides router for providers/retention.py).

A ride ends when its masking does (`masking_ends_at`: the window after pickup, or the
time it was closed). Once it ended before the cutoff its start and destination are
erased, and each of its people who has no ride since loses their number and name.
People no ride refers to, added before the cutoff, are deleted.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef

from providers.phone import ERASED, erased_unique, is_erased

from .models import Customer, Driver, Ride, ride_session

SESSION = re.compile(r"ride:(\d+)", re.ASCII)


def ride_sessions_ended(*, sessions: Collection[str], before: datetime) -> set[str]:
    """Of these session names, those whose ride ended before `before` or is unknown."""
    ids = [int(m[1]) for m in map(SESSION.fullmatch, sessions) if m]
    kept = Ride.objects.filter(pk__in=ids, masking_ends_at__gte=before)
    return set(sessions) - {ride_session(pk) for pk in kept.values_list("pk", flat=True)}


def rides_personal_data_erase(*, before: datetime, now: datetime, batch: int) -> dict[str, int]:
    """At most `batch` rides that ended before `before`, and their people; then at most
    `batch` customers and drivers nothing refers to. Returns counts by what."""
    with transaction.atomic():
        rides = list(
            Ride.objects.filter(erased_at=None, masking_ends_at__lt=before)
            .order_by("masking_ends_at", "id")
            .values_list("pk", "customer_id", "driver_id")[:batch]
        )
        # Customers before drivers, as a booking locks them.
        customers = _people_erase(Customer, ids={c for _, c, _ in rides}, before=before)
        drivers = _people_erase(Driver, ids={d for _, _, d in rides}, before=before)
        Ride.objects.filter(pk__in=[pk for pk, _, _ in rides]).update(
            start=ERASED, destination=ERASED, erased_at=now
        )
    return {
        "rides": len(rides),
        "customers": customers,
        "drivers": drivers,
        "customers deleted": _people_delete(Customer, before=before, batch=batch),
        "drivers deleted": _people_delete(Driver, before=before, batch=batch),
    }


def _people_erase[P: (Customer, Driver)](model: type[P], *, ids: set[int], before: datetime) -> int:
    """Erase the number and name of these people unless they have a ride since `before`.
    Their rows are locked first, so a booking for one of them waits or is seen."""
    if not ids:
        return 0
    role = "customer_id" if model is Customer else "driver_id"
    locked = model.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    riding = set(
        Ride.objects.filter(**{f"{role}__in": ids}, masking_ends_at__gte=before).values_list(
            role, flat=True
        )
    )
    gone = [
        model(pk=pk, name=ERASED, phone=erased_unique(pk))
        for pk, phone in locked.values_list("pk", "phone")
        if pk not in riding and not is_erased(phone)
    ]
    model.objects.bulk_update(gone, ["name", "phone"])
    return len(gone)


def _people_delete[P: (Customer, Driver)](model: type[P], *, before: datetime, batch: int) -> int:
    """Delete at most `batch` people added before `before` whom no ride refers to."""
    role = "customer" if model is Customer else "driver"
    with transaction.atomic():
        unused = (
            model.objects.select_for_update()
            .filter(created_at__lt=before)
            .filter(~Exists(Ride.objects.filter(**{role: OuterRef("pk")})))
            .order_by("pk")
        )
        ids = list(unused.values_list("pk", flat=True)[:batch])
        model.objects.filter(pk__in=ids).delete()
    return len(ids)
