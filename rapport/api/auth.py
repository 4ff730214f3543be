"""How API callers prove who they are.

Scripts and integrations send `Authorization: Bearer rpt_...` (a personal token). A signed-in
browser (the API docs page, the app's own scripts) may use its session instead, but then every
unsafe method must carry the CSRF token: a session cookie is sent by the browser on its own, so
without the check any web page could make a signed-in user's browser write to Rapport.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from . import selectors, services

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class PersonalToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        found = selectors.live_token(token.strip())
        if found is None:
            return None
        services.record_token_use(found)
        request.api_token = found
        return found.user


class BrowserSession(APIKeyCookie):
    """The Django session, with CSRF enforced on writes.

    Ninja's own SessionAuth checks CSRF before it knows whether anyone is signed in, which turns
    an anonymous write into 403; here an anonymous caller falls through to 401.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header with the page's token")
        return user

    def authenticate(self, request: HttpRequest, key: str | None):  # pragma: no cover - __call__ decides
        return None


def actor_of(request: HttpRequest):
    """The user the request acts for (set by whichever authentication succeeded)."""
    return request.auth
