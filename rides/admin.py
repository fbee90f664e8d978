from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from providers.admin_tools import (
    ObjectActionsMixin,
    StaffAdmin,
    changelist_link,
    confirmed,
    sees_full,
    short_time,
    shown_number,
)
from providers.masking import message_text, sees_full_numbers
from providers.models import Message, Service

from .models import Customer, Driver, Ride, RideStatus
from .selectors import ride_messages
from .services import (
    PoolExhausted,
    pool_exhausted_report,
    proxy_allocate,
    ride_close,
    ride_create,
    ride_notifications_resend,
    ride_validate,
    rides_expire,
)


class PartyAdmin(StaffAdmin):
    list_display = ["name", "shown_phone", "created_at"]
    search_fields = ["name", "=phone"]
    phone_lookups = ("phone",)
    list_filter = ["created_at"]
    ordering = ["name", "id"]

    @admin.display(description="phone", ordering="phone")
    def shown_phone(self, obj: Customer | Driver) -> str:
        return shown_number(obj, obj.phone)

    def get_fields(self, request, obj=None):
        # Staff without the permission see the number masked and cannot retype it.
        if obj is not None and not sees_full_numbers(request.user):
            return ["name", "shown_phone", "created_at"]
        return ["name", "phone"] if obj is None else ["name", "phone", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["shown_phone", "created_at"]


@admin.register(Customer)
class CustomerAdmin(PartyAdmin):
    empty_help = "No customers yet: they are added with their first ride (admin or API)."


@admin.register(Driver)
class DriverAdmin(PartyAdmin):
    empty_help = "No drivers yet: they are added with their first ride (admin or API)."


class RideAddForm(forms.ModelForm):
    """The fields staff fill in; the number, status and window come from the service."""

    class Meta:
        model = Ride
        fields = ["customer", "driver", "start", "destination", "pickup_at"]

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        customer, driver = data["customer"], data["driver"]
        ride_validate(
            customer=customer,
            driver=driver,
            start=data["start"],
            destination=data["destination"],
            pickup_at=data["pickup_at"],
        )
        # The admin holds one transaction for the whole request: the people stay locked
        # from this check until the ride is saved, so the number found here is still free.
        try:
            proxy_allocate(customer=customer, driver=driver)
        except PoolExhausted as err:
            pool_exhausted_report(error=err)
            add_number = reverse("admin:providers_proxynumber_add") + f"?service={Service.RIDES}"
            raise ValidationError(
                format_html(
                    'The ride of {} with {} ({} to {}) was not booked. {} <a href="{}">Add a '
                    "number to the pool</a>.",
                    customer,
                    driver,
                    data["start"],
                    data["destination"],
                    err,
                    add_number,
                ),
                code=err.code,
            ) from err
        return data


@admin.register(Ride)
class RideAdmin(ObjectActionsMixin, StaffAdmin):
    list_display = [
        "id",
        "customer",
        "driver",
        "start",
        "destination",
        "pickup",
        "pool_number",
        "status",
        "masking_ends",
    ]
    list_filter = ["status", "proxy", "pickup_at"]
    list_select_related = ["customer", "driver", "proxy"]
    search_fields = [
        "customer__name",
        "=customer__phone",
        "driver__name",
        "=driver__phone",
        "=proxy__number",
    ]
    phone_lookups = ("customer__phone", "driver__phone", "proxy__number")
    autocomplete_fields = ["customer", "driver"]
    show_full_result_count = False
    actions = ["end_masking", "resend_notifications"]
    object_actions = ("end_masking",)
    add_form = RideAddForm
    empty_help = (
        "No rides yet. “Add ride” books one: pick a customer and a driver, and both are "
        "texted from a number of the pool (the API does the same: POST /api/rides/)."
    )
    shown_fields = [
        "customer",
        "driver",
        "start",
        "destination",
        "pickup_at",
        "proxy",
        "status_now",
        "masking_ends_at",
        "ended_at",
        "created_at",
        "messages_link",
        "ride_log",
    ]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # "Open" is time-based: mark rides past their window first, so the status
        # column and filter say what is true now (an indexed, small update).
        rides_expire()
        return super().changelist_view(request, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return RideAddForm.Meta.fields if obj is None else self.shown_fields

    def get_readonly_fields(self, request, obj=None):
        # A ride is changed through its actions (end masking, re-send), not edited.
        return [] if obj is None else self.shown_fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        nothing_to_save = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(
            request, object_id, form_url, nothing_to_save | (extra_context or {})
        )

    def object_action_applies(self, obj: Ride, action: str) -> bool:
        return obj.current_status() == RideStatus.OPEN

    def has_delete_permission(self, request: HttpRequest, obj: Ride | None = None) -> bool:
        # The ride is the record of who could reach whom through which number, and when.
        return False

    @admin.display(description="pickup", ordering="pickup_at")
    def pickup(self, ride: Ride) -> str:
        return short_time(ride.pickup_at)

    @admin.display(description="masking ends", ordering="masking_ends_at")
    def masking_ends(self, ride: Ride) -> str:
        return short_time(ride.masking_ends_at)

    @admin.display(description="number", ordering="proxy__number")
    def pool_number(self, ride: Ride) -> str:
        return ride.proxy.number

    @admin.display(description="status")
    def status_now(self, ride: Ride) -> str:
        return RideStatus(ride.current_status()).label

    @admin.display(description="messages")
    def messages_link(self, ride: Ride) -> str:
        return format_html(
            '<a href="{}">All messages and calls of this ride</a>',
            changelist_link(Message, session=ride.session),
        )

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        data = form.cleaned_data
        return ride_create(
            customer=data["customer"],
            driver=data["driver"],
            start=data["start"],
            destination=data["destination"],
            pickup_at=data["pickup_at"],
        )

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            self.message_user(
                request,
                f"Ride {obj.pk} is on {obj.proxy.number}; {obj.customer} and {obj.driver} "
                "are being texted from it.",
                messages.SUCCESS,
            )

    def save_related(self, request, form, formsets, change) -> None:
        # A ride has no inlines or many-to-many fields; ride_create saved all of it.
        return None

    @admin.display(description="messages and calls")
    def ride_log(self, ride: Ride) -> str:
        log = list(ride_messages(ride=ride))
        if not log:
            return "Nothing yet."
        full = sees_full(ride)
        parties = {
            ride.customer.phone: f"customer ({ride.customer})",
            ride.driver.phone: f"driver ({ride.driver})",
            ride.proxy.number: "proxy number",
        }
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(m.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    m.get_kind_display(),
                    parties.get(m.sender, "someone else"),
                    parties.get(m.recipient, "someone else"),
                    m.get_status_display(),
                    m.outcome,
                    message_text(m.body, full=full),
                )
                for m in log
            ),
        )
        return format_html(
            '<table class="ride-log"><thead><tr><th>when</th><th>kind</th><th>from</th>'
            "<th>to</th><th>status</th><th>outcome</th><th>text</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(description="End masking now for selected rides")
    @confirmed(
        question="End masking now for these rides? Their number stops relaying texts and "
        "calls between the customer and the driver at once.",
        button="End masking",
    )
    def end_masking(self, request: HttpRequest, queryset: QuerySet[Ride]) -> None:
        ended = sum(ride_close(ride=ride) for ride in queryset)
        self.message_user(request, f"Masking ended for {ended} ride(s).", messages.SUCCESS)
        if skipped := queryset.count() - ended:
            self.message_user(request, f"{skipped} ride(s) had already ended.", messages.WARNING)

    @admin.action(description="Re-send failed notifications of selected rides")
    @confirmed(
        question="Text the failed booking notifications of these rides again? Each "
        "customer or driver whose notification failed is texted once more.",
        button="Re-send notifications",
    )
    def resend_notifications(self, request: HttpRequest, queryset: QuerySet[Ride]) -> None:
        queued = sum(ride_notifications_resend(ride=ride) for ride in queryset)
        level = messages.SUCCESS if queued else messages.WARNING
        self.message_user(request, f"{queued} failed notification(s) queued again.", level)
