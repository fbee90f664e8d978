"""A user for the platform's own back end: in the "platform backend" group, which
holds just what booking, reading and closing rides through the API needs."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

GROUP = "platform backend"
# (app label, codename): what POST /api/rides/, GET /api/rides/ and .../close/ ask.
PERMISSIONS = [
    ("rides", "view_ride"),
    ("rides", "add_ride"),
    ("rides", "change_ride"),
    ("rides", "add_customer"),
    ("rides", "change_customer"),
    ("rides", "add_driver"),
    ("rides", "change_driver"),
]


class Command(BaseCommand):
    help = (
        f"Create (or update) the {GROUP!r} group and a staff user in it without a "
        "password, for an API token: manage.py drf_create_token <username>."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", help="the back end's user, created if new")

    @transaction.atomic
    def handle(self, *args, username: str, **options) -> None:
        group, _ = Group.objects.get_or_create(name=GROUP)
        group.permissions.set(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in PERMISSIONS
        )
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            # A token is its only way in: no password, so no admin login.
            user.set_unusable_password()
        user.is_staff = True  # the API, like the admin, serves staff only
        user.save()
        user.groups.add(group)
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {username!r} in the {GROUP!r} group.")
