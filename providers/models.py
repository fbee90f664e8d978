from __future__ import annotations

import uuid

from django.db import connections, models
from django.db.models import Q
from django.utils import timezone

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
    # delivery receipts
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Not delivered"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Not sent: opted out"
    # calls
    TRANSFERRED = "transferred", "Transferred"
    ANSWERED = "answered", "Answered with a message"


_INSERTED_AS_IS = (
    "direction", "kind", "provider", "vendor_id", "sender", "recipient", "body", "status",
    "outcome", "session", "attempts", "last_error", "nonce",
)  # fmt: skip

# Every log row: beside save() it buys 21% of a text's instructions and 34% of a call's.
MESSAGE_INSERT_SQL = """
    INSERT INTO providers_message (
        direction, kind, provider, vendor_id, proxy_id, sender, recipient, body, status,
        outcome, session, in_reply_to_id, attempts, last_error, next_attempt_at,
        created_at, updated_at, sent_at, nonce
    ) VALUES (
        %(direction)s, %(kind)s, %(provider)s, %(vendor_id)s, %(proxy_id)s, %(sender)s,
        %(recipient)s, %(body)s, %(status)s, %(outcome)s, %(session)s, %(in_reply_to_id)s,
        %(attempts)s, %(last_error)s, %(next_attempt_at)s, %(created_at)s, %(updated_at)s,
        %(sent_at)s, %(nonce)s
    ) RETURNING id
"""

# An outbound text to a person who opted out of its number is logged as suppressed
# instead of queued, decided in the INSERT itself: no statement more per text.
OUTBOUND_INSERT_SQL = """
    INSERT INTO providers_message (
        direction, kind, provider, vendor_id, proxy_id, sender, recipient, body, status,
        outcome, session, in_reply_to_id, attempts, last_error, next_attempt_at,
        created_at, updated_at, sent_at, nonce
    ) SELECT
        %(direction)s, %(kind)s, %(provider)s, %(vendor_id)s, %(proxy_id)s, %(sender)s,
        %(recipient)s, %(body)s,
        CASE WHEN opted_out THEN 'suppressed' ELSE %(status)s END,
        %(outcome)s, %(session)s, %(in_reply_to_id)s, %(attempts)s,
        CASE WHEN opted_out THEN 'opted out' ELSE %(last_error)s END,
        CASE WHEN opted_out THEN NULL ELSE %(next_attempt_at)s END,
        %(created_at)s, %(updated_at)s, %(sent_at)s, %(nonce)s
    FROM (
        SELECT EXISTS (
            SELECT 1 FROM providers_optout
            WHERE proxy_id = %(proxy_id)s AND phone = %(recipient)s AND opted_in_at IS NULL
        ) AS opted_out
    ) AS consent
    RETURNING id, status
"""


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
    # The one-time id of the request that brought an inbound event (a signature's jti):
    # a request repeating it is a replay, refused. Kept as long as the row.
    nonce = models.CharField(max_length=255, blank=True, default="", db_default="")
    # A reply to someone who is no party (providers.replies counts them per hour).
    system = models.BooleanField(
        "system reply", default=False, db_default=False, help_text="A reply to someone no party"
    )
    # What the vendor's delivery receipts said last (providers/receipts.py). db_default:
    # the log's literal INSERTs above do not name these columns.
    vendor_status = models.CharField(max_length=40, blank=True, default="", db_default="")
    error_code = models.CharField(max_length=64, blank=True, default="", db_default="")
    error_description = models.TextField(blank=True, default="", db_default="")
    delivered_at = models.DateTimeField(null=True, blank=True, default=None, db_default=None)
    # When retention erased its text and the person's number (providers/retention.py).
    erased_at = models.DateTimeField(null=True, blank=True, default=None, db_default=None)

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
            ),
            models.UniqueConstraint(
                fields=["nonce"], condition=~Q(nonce=""), name="message_nonce_unique"
            ),
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
            # A session's log in order, and a party's texts in it within a window
            # (providers/loops.py) without reading the rest of a long session.
            models.Index(fields=["session", "created_at"], name="message_session_time"),
            models.Index(fields=["status"], name="message_status"),
            models.Index(
                fields=["proxy", "created_at"], condition=Q(system=True), name="message_system"
            ),
            # A receipt without our reference finds its message by the vendor's id.
            models.Index(
                fields=["provider", "vendor_id"],
                condition=Q(direction="out") & ~Q(vendor_id=""),
                name="message_outbound_vendor_id",
            ),
            # Retention reads the oldest rows of no session not yet erased: the backlog,
            # not the history (a session's rows are found by the session).
            models.Index(
                fields=["created_at"],
                condition=Q(erased_at=None, session=""),
                name="message_sessionless_unerased",
            ),
        ]

    def __str__(self) -> str:
        if self.direction == Direction.OUTBOUND:
            return f"{self.get_kind_display()} to {mask(self.recipient)} [{self.status}]"
        return f"{self.get_kind_display()} from {mask(self.sender)} [{self.status}]"

    def insert(self, *, unless_opted_out: bool = False) -> None:
        """Write this new row, as save() would, and set its key.

        One literal INSERT: every text and call writes its log row and each text it
        queues this way, and save() cost more instructions than the rest of a webhook.
        No save signals are sent; none are used on the log. `unless_opted_out`: an
        outbound text whose recipient opted out of its number is written suppressed.
        """
        connection = connections[Message.objects.db]
        at = connection.ops.adapt_datetimefield_value
        self.updated_at = timezone.now()
        params = {
            **{name: getattr(self, name) for name in _INSERTED_AS_IS},
            "proxy_id": self.proxy_id,
            "in_reply_to_id": self.in_reply_to_id,
            "next_attempt_at": at(self.next_attempt_at),
            "created_at": at(self.created_at),
            "updated_at": at(self.updated_at),
            "sent_at": at(self.sent_at),
        }
        with connection.cursor() as cursor:
            if unless_opted_out:
                cursor.execute(OUTBOUND_INSERT_SQL, params)
                self.pk, self.status = cursor.fetchone()
                if self.status == Status.SUPPRESSED:
                    self.last_error, self.next_attempt_at = "opted out", None
            else:
                cursor.execute(MESSAGE_INSERT_SQL, params)
                (self.pk,) = cursor.fetchone()
        self._state.adding, self._state.db = False, connection.alias


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


def event_id_new() -> str:
    return f"evt_{uuid.uuid4().hex}"


class EventStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Event(models.Model):
    """An event for the platform's backend (providers/events.py), written in the
    transaction of what it reports and delivered from the outbox like a text."""

    # The webhook-id: the same on every attempt, so the platform can drop duplicates.
    event_id = models.CharField(max_length=40, unique=True, default=event_id_new, editable=False)
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=8, choices=EventStatus.choices, default=EventStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status__in=["queued", "sending"]),
                name="event_outbox",
            ),
            models.Index(fields=["created_at"], name="event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} [{self.status}]"


class MessageStatusChange(models.Model):
    """One report on an outbound message's delivery, in its history: a vendor's receipt
    or the outbox giving up. `applied`: whether it moved the message (a late or repeated
    report is kept, and changes nothing)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField(max_length=12, choices=Status.choices)
    vendor_status = models.CharField(max_length=40, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_description = models.TextField(blank=True, default="")
    at = models.DateTimeField(help_text="When the vendor says it happened")
    received_at = models.DateTimeField(default=timezone.now)
    applied = models.BooleanField(default=False)

    class Meta:
        verbose_name = "status change"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status} ({self.vendor_status or '-'}) for message {self.message_id}"
