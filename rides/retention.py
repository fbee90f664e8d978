"""Retention for rides (called by the rides router for providers/retention.py).

A ride ends when its masking does (`masking_ends_at`: the window after pickup, or the
time it was closed). Once it ended before the cutoff its messages in the log, its start
and destination are erased, and each of its people who has no ride since loses their
number and name. People no ride refers to, added before the cutoff, are deleted.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef

from providers.phone import ERASED, erased_unique, is_erased
from providers.retention import session_messages_erase

from .models import Customer, Driver, Ride, ride_session


def rides_personal_data_erase(*, before: datetime, now: datetime, batch: int) -> dict[str, int]:
    """At most `batch` rides that ended before `before`: their messages, then, once none
    is left, their addresses and people; then the next `batch` people, of whom those
    nothing refers to are deleted. Returns counts by what."""
    rides = list(
        Ride.objects.filter(erased_at=None, masking_ends_at__lt=before)
        .order_by("masking_ends_at", "id")
        .values_list("pk", "customer_id", "driver_id")[:batch]
    )
    messages, done = session_messages_erase(
        sessions=[ride_session(pk) for pk, _, _ in rides], now=now, batch=batch
    )
    rides = [ride for ride in rides if ride_session(ride[0]) in done]
    with transaction.atomic():
        # Customers before drivers, as a booking locks them.
        customers = _people_erase(Customer, ids={c for _, c, _ in rides}, before=before)
        drivers = _people_erase(Driver, ids={d for _, _, d in rides}, before=before)
        Ride.objects.filter(pk__in=[pk for pk, _, _ in rides]).update(
            start=ERASED, destination=ERASED, erased_at=now
        )
    return {
        "ride messages": messages,
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
    people = list(locked.values_list("pk", "phone"))
    riding = set(
        Ride.objects.filter(**{f"{role}__in": ids}, masking_ends_at__gte=before).values_list(
            role, flat=True
        )
    )
    gone = [
        model(pk=pk, name=ERASED, phone=erased_unique(pk))
        for pk, phone in people
        if pk not in riding and not is_erased(phone)
    ]
    model.objects.bulk_update(gone, ["name", "phone"])
    return len(gone)


# People no ride refers to are looked for a batch at a time, walking each table by id
# across runs, so a run reads `batch` people, not every person and every ride. The place
# is kept in this process; starting again from the first id after a restart is harmless.
_walked_to: dict[str, int] = {}


def _people_delete[P: (Customer, Driver)](model: type[P], *, before: datetime, batch: int) -> int:
    """Delete those of the next `batch` people (by id, wrapping around) who were added
    before `before` and whom no ride refers to."""
    role = "customer_id" if model is Customer else "driver_id"
    after = _walked_to.get(role, 0)
    ids = list(
        model.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch]
    )
    if len(ids) < batch:  # the end of the table: on from the start
        ids += (
            model.objects.filter(pk__lte=after)
            .order_by("pk")
            .values_list("pk", flat=True)[: batch - len(ids)]
        )
    if not ids:
        return 0
    _walked_to[role] = ids[-1]
    with transaction.atomic():
        unused = (
            model.objects.select_for_update()
            .filter(pk__in=ids, created_at__lt=before)
            .filter(~Exists(Ride.objects.filter(**{role: OuterRef("pk")})))
            .order_by("pk")
        )
        deleted = list(unused.values_list("pk", flat=True))
        model.objects.filter(pk__in=deleted).delete()
    return len(deleted)
