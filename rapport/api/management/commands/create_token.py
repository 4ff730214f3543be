"""rapport create_token USERNAME [--name NAME]: a personal API token, printed once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from rapport.api import services
from rapport.core.errors import ValidationFailed


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        if not user.is_active:
            raise CommandError(f"user {user.username!r} is inactive; activate them first")
        try:
            created = services.create_token(actor=user, name=options["name"])
        except ValidationFailed as exc:
            raise CommandError(str(exc)) from exc
        # The token alone on stdout so scripts can capture it: TOKEN=$(rapport create_token ann)
        self.stdout.write(created.raw)
        self.stderr.write(
            f"Token “{created.token.name}” for {user.username}. Keep it secret; it will not be shown again."
        )
