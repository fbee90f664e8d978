from __future__ import annotations

from django.apps import AppConfig


class MaskedNumbersConfig(AppConfig):
    name = "maskednumbers"
    verbose_name = "Masked numbers"
