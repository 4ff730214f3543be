"""`rapport serve`: what `make run` calls. Ready a database, then serve with a worker beside it.

Safe to run again and again: migrations are idempotent, demo data loads only into an empty
database, and the admin account is created only when it is missing.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from rapport.core.models import Profile, Role

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Migrate, load demo data on first start, ensure an admin exists, then serve with a worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--demo-contacts", type=int, default=2000)
        parser.add_argument("--no-demo", action="store_true", help="Start with an empty database")
        parser.add_argument("--no-worker", action="store_true", help="Do not start the background worker")
        parser.add_argument("--setup-only", action="store_true", help="Prepare the database and exit")

    def handle(self, *args, host, port, demo_contacts, no_demo, no_worker, setup_only, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        password_file = settings.VAR_DIR / "admin-password.txt"
        User = get_user_model()
        first_start = not User.objects.exists()
        if first_start and not no_demo:
            self.stdout.write(f"First start: loading demo data ({demo_contacts} contacts)…")
            call_command("demo", contacts=demo_contacts)
            # So the demo's contact pages show value, chance alive and health from the start.
            self.stdout.write("Scoring the demo customers (rapport insights refresh)…")
            try:
                call_command("insights", "refresh", "--quiet", verbosity=0)
            except CommandError as exc:
                self.stdout.write(self.style.WARNING(f"Scores not computed ({exc}); run `rapport insights refresh`."))
        admin = User.objects.filter(username=ADMIN_USERNAME).first()
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", password,
                                                  first_name="Admin")
            Profile.objects.filter(user=admin).update(role=Role.ADMIN)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        password = password_file.read_text().strip() if password_file.exists() else "(the one you set)"
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(
            f"\nRapport is starting on {url}\n"
            f"  Log in as: {ADMIN_USERNAME}\n"
            f"  Password:  {password}\n"
            f"  (kept in {password_file}; change it under Password once logged in)\n"
            + ("  Demo users (sellers, managers, marketers…) use the password: rapport-demo\n" if first_start else "")
        ))
        if setup_only:
            return
        worker = None
        if not no_worker:
            # Imports and other long work run in this worker, off the web request.
            worker = subprocess.Popen([sys.executable, "-m", "rapport", "db_worker"], env=os.environ.copy())
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=10)
