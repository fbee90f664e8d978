from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import retry

from .phone import mask


class Service(models.TextChoices):
    RIDES = "rides", "Rides"
    CONVERSATIONS = "conversations", "Conversations"


class ProxyNumber(models.Model):
    """A number of the pool, rented from a vendor, that masks the parties' own numbers."""

    number = models.CharField(max_length=20, unique=True, help_text="E.164, e.g. +14155550100")
    provider = models.CharField(max_length=32, help_text="Alias in MASKED_NUMBERS_PROVIDERS")
    service = models.CharField(max_length=20, choices=Service.choices, db_index=True)
    sms = models.BooleanField("SMS", default=True)
    voice = models.BooleanField(default=False)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code")
    active = models.BooleanField(default=True, help_text="Retired numbers keep their history.")
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["service", "number"]
        indexes = [models.Index(fields=["service", "active"], name="proxy_service_active")]

    def __str__(self) -> str:
        return f"{self.number} ({self.service}, {self.provider})"


class Direction(models.TextChoices):
    INBOUND = "in", "Inbound"
    OUTBOUND = "out", "Outbound"


class Kind(models.TextChoices):
    SMS = "sms", "SMS"
    CALL = "call", "Call"


class Status(models.TextChoices):
    # inbound
    RECEIVED = "received", "Received"
    UNROUTED = "unrouted", "Not for a pool number"
    # outbound SMS
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # calls
    TRANSFERRED = "transferred", "Transferred"
    ANSWERED = "answered", "Answered with a message"


class Message(models.Model):
    """The log: every inbound and outbound SMS and every call, with its status.

    Outbound SMS double as the outbox: a row in `queued` is what the delivery task sends.
    """

    direction = models.CharField(max_length=3, choices=Direction.choices)
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.SMS)
    provider = models.CharField(max_length=32)
    vendor_id = models.CharField(max_length=128, blank=True, default="")
    proxy = models.ForeignKey(
        ProxyNumber, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    sender = models.CharField("from", max_length=32)
    recipient = models.CharField("to", max_length=32)
    body = models.TextField(blank=True, default="")
    status = models.CharField(max_length=12, choices=Status.choices)
    outcome = models.CharField(max_length=40, blank=True, default="")
    session = models.CharField(max_length=64, blank=True, default="")
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Without it, staff see people's numbers masked and message texts hidden.
        permissions = [("view_full_numbers", "Can view full numbers and texts")]
        constraints = [
            # A vendor that delivers the same webhook twice gets one row: the dedupe key.
            models.UniqueConstraint(
                fields=["provider", "direction", "kind", "vendor_id"],
                condition=Q(direction="in") & ~Q(vendor_id=""),
                name="message_inbound_vendor_id_unique",
            )
        ]
        # Declared here rather than with db_index=True on the fields: on PostgreSQL that
        # adds a second, varchar_pattern_ops copy of each (for LIKE), which no query
        # here uses and every insert into the log would keep up to date.
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status__in=["queued", "sending"]),
                name="message_outbox",
            ),
            models.Index(fields=["session"], name="message_session"),
            models.Index(fields=["status"], name="message_status"),
        ]

    def __str__(self) -> str:
        if self.direction == Direction.OUTBOUND:
            return f"{self.get_kind_display()} to {mask(self.recipient)} [{self.status}]"
        return f"{self.get_kind_display()} from {mask(self.sender)} [{self.status}]"


class OptOut(models.Model):
    """A person who asked a pool number to stop texting them; nothing more is sent to
    them from that number until they opt in again (`opted_in_at` set). Only the
    person can opt back in."""

    proxy = models.ForeignKey(ProxyNumber, on_delete=models.PROTECT, related_name="opt_outs")
    phone = models.CharField(max_length=32, help_text="The person's own number, E.164")
    keyword = models.CharField(
        max_length=40, help_text="What they texted, or the vendor's refusal that told us"
    )
    opted_out_at = models.DateTimeField(default=timezone.now)
    opted_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "opt-out"
        ordering = ["-opted_out_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["proxy", "phone"], name="opt_out_proxy_phone_unique")
        ]

    def __str__(self) -> str:
        state = "opted in again" if self.opted_in_at else "opted out"
        return f"{mask(self.phone)} on {self.proxy.number}: {state}"

    @property
    def active(self) -> bool:
        return self.opted_in_at is None


class SeenSignature(models.Model):
    """`jti` claims of MessageBird signatures already accepted: a replay is refused."""

    jti = models.CharField(max_length=255)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        # A constraint rather than unique=True: no varchar_pattern_ops copy of the index
        # on PostgreSQL to keep up to date on every webhook (see Message.Meta).
        constraints = [models.UniqueConstraint(fields=["jti"], name="seen_signature_jti_unique")]

    def __str__(self) -> str:
        return self.jti


class DeliveryTask(DBTaskResult):
    """django-tasks-db's task row as `delivery_worker` handles it on PostgreSQL.

    The same table and the same life cycle; only the success, recorded for every
    delivered text, is not the ORM's save, which spent most of its time building the
    statement (a delivery went from 6.48 to 5.77 million instructions, `python -m
    bench.instructions`): the worker records the successes of the tasks it claimed
    together in one UPDATE (`finished_into`), else it is one prepared UPDATE here. A
    failure keeps the library's save.
    """

    # The worker's list of finished tasks to record together; None: record it now.
    finished_into: list | None = None

    class Meta:
        proxy = True

    @retry()
    def set_successful(self, return_value: Any) -> None:
        from .db import update_fields

        # What DBTaskResult.set_successful sets, field for field.
        self.status = TaskResultStatus.SUCCESSFUL
        self.finished_at = timezone.now()
        self.return_value = return_value
        self.exception_class_path = ""
        self.traceback = ""
        if self.finished_into is not None:
            self.finished_into.append(self)
            return
        update_fields(
            self, "status", "return_value", "finished_at", "exception_class_path", "traceback"
        )
