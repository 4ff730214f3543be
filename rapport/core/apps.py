from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "rapport.core"
    label = "core"

    def ready(self):
        from . import signals  # noqa: F401
