from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Telephony"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401 - registers the system checks
            pool,  # noqa: F401 - empties its cache when a number changes
        )
