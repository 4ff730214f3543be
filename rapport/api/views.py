"""Settings → API tokens: list, create (the secret is shown once) and revoke personal tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from rapport.core.errors import NotVisible, ValidationFailed

from . import selectors, services


def _page(request, *, new_token=None, errors=None, name=""):
    request.nav_section = "tokens"
    context = {
        "tokens": selectors.tokens_of(request.user),
        "new_token": new_token,
        "errors": errors or {},
        "name": name,
    }
    return render(request, "api/tokens.html", context, status=422 if errors else 200)


@login_required
def api_tokens(request):
    if request.method != "POST":
        return _page(request)
    name = request.POST.get("name", "")
    try:
        created = services.create_token(actor=request.user, name=name)
    except ValidationFailed as exc:
        return _page(request, errors=exc.errors, name=name)
    # Rendered, not redirected: the secret must never be stored (not even in the session) to be
    # shown after a redirect. Reloading the page does not show it again.
    response = _page(request, new_token=created)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke_api_token(request, token_id: int):
    try:
        token = services.revoke_token(actor=request.user, token_id=token_id)
    except NotVisible as exc:
        raise Http404("no such token") from exc
    messages.success(request, f"Token “{token.name}” revoked. Programs using it can no longer sign in.")
    return redirect("api_tokens")
