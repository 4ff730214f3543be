"""Security basics: hashing, lockout, CSP, CSRF, deploy checks, start-up refusal."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse


def _run_rapport(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    full_env.update(env)
    full_env["RAPPORT_VAR_DIR"] = env.get("RAPPORT_VAR_DIR", "/tmp/rapport-check")
    return subprocess.run([sys.executable, "-m", "rapport", *args], capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_start_up_refuses_a_missing_secret_key_without_debug():
    result = _run_rapport("check", RAPPORT_DEBUG="false")
    assert result.returncode != 0
    assert "RAPPORT_SECRET_KEY" in result.stderr


def test_start_up_refuses_the_development_key_without_debug():
    result = _run_rapport("check", RAPPORT_DEBUG="false",
                          RAPPORT_SECRET_KEY="rapport-development-key-not-for-production")
    assert result.returncode != 0


def test_deploy_checks_pass_with_production_settings():
    result = _run_rapport("check", "--deploy", "--fail-level", "WARNING", RAPPORT_DEBUG="false",
                          RAPPORT_SECRET_KEY="x" * 20 + "a-long-random-production-secret-9f8e7d6c5b4a",
                          RAPPORT_ALLOWED_HOSTS="crm.example.com")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = get_user_model().objects.create_user("hash_me", password="a sturdy passphrase 42")
    assert user.password.startswith("argon2$")


@pytest.mark.django_db
def test_login_locks_out_after_repeated_failures(seller):
    client = Client()
    for _ in range(5):
        response = client.post(reverse("login"), {"username": seller.username, "password": "wrong"})
    response = client.post(reverse("login"), {"username": seller.username,
                                              "password": "correct horse battery staple"})
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()


@pytest.mark.django_db
def test_login_works_with_the_right_password(seller):
    client = Client()
    response = client.post(reverse("login"), {"username": seller.username,
                                              "password": "correct horse battery staple"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_pages_send_a_nonce_based_content_security_policy(client, seller):
    client.force_login(seller)
    response = client.get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy
    assert "default-src 'self'" in policy


@pytest.mark.django_db
def test_session_writes_need_a_csrf_token(seller, make_contact):
    contact = make_contact(seller)
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller)
    response = client.post(reverse("contact_delete", args=[contact.pk]))
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.deleted_at is None


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_log_in(client):
    for name in ("home", "contact_list", "company_list", "trash", "search"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("login") in response.url
