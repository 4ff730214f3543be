"""The private calendar feed (no login: the secret in the URL is the key) and the settings page
where a user makes or revokes feed URLs and chooses which e-mails Rapport sends them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from rapport.core.errors import NotVisible

from .. import ical
from ..selectors import meetings as selectors
from ..services import calendar_feeds as services


@never_cache
@require_GET
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """The user's meetings and due tasks as text/calendar. An unknown secret is 404; a revoked
    one is 410 Gone, which tells calendar clients to stop asking."""
    token = selectors.feed_token(secret)
    if token is None or not token.user.is_active:
        raise Http404("No such calendar")
    if token.revoked_at is not None:
        return HttpResponse("This calendar link was revoked. Make a new one in Rapport.", status=410,
                            content_type="text/plain; charset=utf-8")
    user = token.user
    meetings, attendees = selectors.feed_meetings(user)
    body = ical.feed(name=f"Rapport: {user.get_full_name() or user.username}", meetings=meetings,
                     attendees_of=attendees, tasks=selectors.feed_tasks(user))
    services.note_feed_read(token)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="rapport.ics"'
    # The URL is a secret: keep it out of other sites' Referer headers and out of shared caches.
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
def calendar_settings(request: HttpRequest) -> HttpResponse:
    request.nav_section = "calendar"
    return render(request, "assistant/calendar_settings.html", {
        "tokens": selectors.feed_tokens_of(request.user), "preferences": selectors.mail_preferences(request.user),
        "new_url": request.session.pop("new_calendar_url", None)})


@login_required
@require_POST
def calendar_feed_create(request: HttpRequest) -> HttpResponse:
    _, raw = services.create_feed_token(actor=request.user)
    # Shown once, on the next page only: the database keeps just its hash.
    request.session["new_calendar_url"] = request.build_absolute_uri(f"/calendar/{raw}.ics")
    messages.success(request, "Calendar link made. Copy it now: it is shown only once.")
    return redirect("calendar_settings")


@login_required
@require_POST
def calendar_feed_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        services.revoke_feed_token(actor=request.user, token_id=token_id)
    except NotVisible as exc:
        raise Http404("No such calendar link") from exc
    messages.success(request, "Calendar link revoked: calendars using it stop updating.")
    return redirect("calendar_settings")


@login_required
@require_POST
def mail_preferences_save(request: HttpRequest) -> HttpResponse:
    services.set_mail_preferences(actor=request.user, data={
        "task_reminders": request.POST.get("task_reminders") == "on",
        "daily_digest": request.POST.get("daily_digest") == "on"})
    messages.success(request, "E-mail preferences saved.")
    return redirect("calendar_settings")


urlpatterns = [
    path("calendar/<str:secret>.ics", calendar_feed, name="calendar_feed"),
    path("settings/calendar/", calendar_settings, name="calendar_settings"),
    path("settings/calendar/new/", calendar_feed_create, name="calendar_feed_create"),
    path("settings/calendar/<int:token_id>/revoke/", calendar_feed_revoke, name="calendar_feed_revoke"),
    path("settings/calendar/mail/", mail_preferences_save, name="mail_preferences_save"),
]
