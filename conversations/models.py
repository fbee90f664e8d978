from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from providers.models import ProxyNumber
from providers.phone import mask


class State(models.TextChoices):
    PENDING = "pending", "Waiting for the other person"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


OPEN_STATES = (State.PENDING, State.ACTIVE)

# When a conversation ended: `ended_at`, or for one that lapsed (still open, or closed
# later by whoever touched it) its `expires_at`, whichever came first.
ENDS = Least(Coalesce("ended_at", "expires_at"), "expires_at")


class EndReason(models.TextChoices):
    PARTY = "party", "Ended by a party"
    CODE_EXPIRED = "code_expired", "Code expired before anyone joined"
    IDLE = "idle", "No messages for too long"
    STAFF = "staff", "Ended by staff"


class Role(models.TextChoices):
    STARTER = "starter", "Starter"
    JOINER = "joiner", "Joiner"


class Conversation(models.Model):
    """Two people paired by a code on one conversations number.

    The parties are `Participant` rows: the database, not the code, keeps a person to
    one open conversation per number.
    """

    proxy = models.ForeignKey(
        ProxyNumber, on_delete=models.PROTECT, related_name="conversations", verbose_name="number"
    )
    code = models.CharField(max_length=12)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    joined_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)
    # Pending: when the code lapses; active: when it ends for idleness. Set on every
    # write so that "is it still open?" is one indexed comparison.
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # When retention erased its parties' numbers (conversations/retention.py).
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["proxy", "code"],
                condition=Q(state__in=OPEN_STATES),
                name="conversation_open_code_unique",
            ),
            models.CheckConstraint(
                condition=Q(state=State.ENDED) | Q(end_reason=""),
                name="conversation_end_reason_only_when_ended",
            ),
        ]
        indexes = [
            models.Index(
                fields=["state", "expires_at"],
                condition=Q(state__in=OPEN_STATES),
                name="conversation_open_expiry",
            ),
            # Retention reads the conversations not yet erased by when they ended.
            models.Index(ENDS, condition=Q(erased_at=None), name="conversation_unerased"),
        ]

    def __str__(self) -> str:
        return f"{self.code} on {self.proxy.number} ({self.state})"

    @property
    def session(self) -> str:
        """How the message log names this conversation."""
        return f"conversation:{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Participant(models.Model):
    """One person in one conversation; `open` mirrors the conversation being open.

    `proxy` repeats the conversation's number so that the partial unique index can hold
    a person to one open conversation per number.
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    proxy = models.ForeignKey(ProxyNumber, on_delete=models.PROTECT, related_name="+")
    phone = models.CharField(max_length=20, help_text="E.164")
    role = models.CharField(max_length=10, choices=Role.choices)
    open = models.BooleanField(default=True)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["conversation", "joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["proxy", "phone"],
                condition=Q(open=True),
                name="participant_one_open_per_number",
            ),
            models.UniqueConstraint(
                fields=["conversation", "role"], name="participant_one_per_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {mask(self.phone)}"


class JoinFailure(models.Model):
    """A failed JOIN: the rows within the window are the rate limit's counters.

    Kept in the database so that every web process sees the same count.
    """

    proxy = models.ForeignKey(ProxyNumber, on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20, help_text="E.164 of the sender")
    reason = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="joinfailure_time"),
            models.Index(fields=["proxy", "created_at"], name="joinfailure_proxy_time"),
            models.Index(fields=["phone", "created_at"], name="joinfailure_sender_time"),
        ]

    def __str__(self) -> str:
        return f"failed JOIN from {mask(self.phone)} ({self.reason})"
