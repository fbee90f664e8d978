"""The project's admin site: Django's, with the telephony section first."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import apps

# The apps staff use most, in this order; the others (users, tasks) follow by name.
APP_ORDER = ["providers", "rides", "conversations"]


class MaskedNumbersAdminSite(admin.AdminSite):
    site_header = "Masked numbers"
    site_title = "Masked numbers"
    index_title = "Dashboard"
    # There is no public site to view: the admin, the API and the webhooks are all there is.
    site_url = None
    # The lists need the width: at 1366 px the side menu left the key columns off-screen.
    # The breadcrumbs and the index lead everywhere it did.
    enable_nav_sidebar = False

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(APP_ORDER)}
        return sorted(apps, key=lambda app: rank.get(app["app_label"], len(APP_ORDER)))


class AdminConfig(apps.AdminConfig):
    """Django's admin, with this site as `admin.site` (INSTALLED_APPS names this class)."""

    default_site = "maskednumbers.admin_site.MaskedNumbersAdminSite"
