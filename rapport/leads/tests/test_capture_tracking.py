"""The page-view collector: strict judging, consent and opt-out, CORS, storage and identity."""

from __future__ import annotations

import json
import random
import time

import pytest
from django.test import Client

from rapport.leads.capture import identity, tracking
from rapport.leads.capture.building import save_site
from rapport.leads.models import ConsentMode, Visitor, VisitorPageView
from rapport.timeline.models import Event

ORIGIN = "https://www.shop.example"
VISITOR = "a" * 32


@pytest.fixture(autouse=True)
def _no_cached_sites():
    # Each test's database has its own sites; the collector's per-process cache must not carry them over.
    tracking.forget_sites()
    yield
    tracking.forget_sites()


@pytest.fixture
def site(admin_user):
    return save_site(actor=admin_user, data={"name": "Shop", "origins": f"{ORIGIN}\nhttps://blog.shop.example",
                                             "consent_mode": ConsentMode.ALWAYS})


def view(path="/pricing", **extra):
    return {"url": f"{ORIGIN}{path}", "referrer": "https://search.example/?q=crm", "title": "Pricing",
            "utm": {"source": "news", "campaign": "spring"}, "at": int(time.time() * 1000), **extra}


def batch(site, *views, **extra):
    return {"site": site.key, "visitor": VISITOR, "events": list(views) or [view()], **extra}


def post(payload, *, origin=ORIGIN, raw: bytes | None = None, **headers):
    body = raw if raw is not None else json.dumps(payload).encode()
    if origin:
        headers["HTTP_ORIGIN"] = origin
    return Client().post("/t/collect", body, content_type="text/plain;charset=UTF-8", **headers)


def test_a_batch_is_stored_as_anonymous_page_views_with_cors_for_the_site(site):
    response = post(batch(site, view("/a"), view("/b", title="B"), view("/c?utm_source=x")))
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 3}
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    events = list(Event.objects.filter(kind="page_view").order_by("id"))
    assert [e.payload["url"] for e in events] == [f"{ORIGIN}/a", f"{ORIGIN}/b", f"{ORIGIN}/c?utm_source=x"]
    assert all(e.contact_id is None for e in events)
    assert events[1].summary == "Viewed B"
    assert events[0].payload["utm"] == {"source": "news", "campaign": "spring"}
    visitor = Visitor.objects.get(anonymous_id=VISITOR)
    assert VisitorPageView.objects.filter(visitor=visitor).count() == 3


def test_preflight_answers_known_origins_only(site):
    client = Client()
    ok = client.options("/t/collect", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert ok.status_code == 204 and ok["Access-Control-Allow-Origin"] == ORIGIN
    refused = client.options("/t/collect", HTTP_ORIGIN="https://evil.example")
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused


@pytest.mark.parametrize("mutate, reason", [
    (lambda b: b.update(extra=1), "unknown key 'extra'"),
    (lambda b: b.update(site="nope"), "no active tracked site"),
    (lambda b: b.update(visitor="short"), "visitor must be"),
    (lambda b: b.update(visitor="a" * 30 + "<>"), "visitor must be"),
    (lambda b: b.update(events=[]), "non-empty list"),
    (lambda b: b.update(events="x"), "non-empty list"),
    (lambda b: b.update(events=[view()] * 51), "at most 50"),
    (lambda b: b.update(events=[5]), "events[0] must be an object"),
    (lambda b: b.update(events=[view(colour="red")]), "colour is not a known key"),
    (lambda b: b.update(events=[view(url=None)]), "url is required"),
    (lambda b: b.update(events=[view(url="javascript:alert(1)")]), "http or https"),
    (lambda b: b.update(events=[view(url="https://other.example/")]), "not on this site"),
    (lambda b: b.update(events=[view(url=ORIGIN + "/" + "x" * 2000)]), "longer than 2000"),
    (lambda b: b.update(events=[view(title="t" * 301)]), "title is longer than 300"),
    (lambda b: b.update(events=[view(title="a\x00b")]), "control characters"),
    (lambda b: b.update(events=[view(at="yesterday")]), "milliseconds since 1970"),
    (lambda b: b.update(events=[view(at=True)]), "milliseconds since 1970"),
    (lambda b: b.update(events=[view(at=1e300)]), "at is"),
    (lambda b: b.update(events=[view(at=0)]), "days old"),
    (lambda b: b.update(events=[view(at=(time.time() + 3600) * 1000)]), "in the future"),
    (lambda b: b.update(events=[view(utm={"source": 1})]), "utm.source must be a string"),
    (lambda b: b.update(events=[view(utm={"evil": "x"})]), "unknown key 'evil'"),
    (lambda b: b.update(events=[view(utm=[1])]), "utm must be an object"),
    (lambda b: b.update(consent="yes"), "consent must be true or false"),
    (lambda b: b.update(contact_token=5), "contact_token"),
])
def test_garbage_is_refused_whole_with_a_reason(site, mutate, reason):
    payload = batch(site, view("/first"))
    mutate(payload)
    response = post(payload)
    assert response.status_code == 400, response.content
    assert reason in response.json()["error"]
    assert not Event.objects.filter(kind="page_view").exists()


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1,2]", b"null", b"\xff\xfe", b'{"site": ', b"1e999999"])
def test_bodies_that_are_not_a_json_object_get_400(site, raw):
    response = post(None, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]


def test_an_oversized_batch_is_refused_before_it_is_read(site):
    response = post(None, raw=b"x" * (64 * 1024 + 1))
    assert response.status_code == 413
    assert "larger than 64 KB" in response.json()["error"]


def test_random_garbage_never_causes_a_server_error(site):
    rng = random.Random(7)
    atoms = [None, True, 0, -1, 1.5, "", "x", "https://www.shop.example/", [], {}, [1], {"a": 1}, "\u2603" * 3,
             2**70, site.key, VISITOR]
    keys = ["site", "visitor", "events", "consent", "contact_token", "url", "at", "utm", "title", "referrer", "zz"]

    def value(depth=0):
        if depth > 2 or rng.random() < 0.5:
            return rng.choice(atoms)
        if rng.random() < 0.5:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 4))}

    # The view itself (no middleware), so many payloads stay quick.
    from django.test import RequestFactory

    from rapport.leads.views.capture.public import collect

    factory = RequestFactory()
    for _ in range(150):
        payload = {k: value() for k in rng.sample(keys, rng.randint(0, 5))}
        request = factory.post("/t/collect", json.dumps(payload), content_type="text/plain", HTTP_ORIGIN=ORIGIN)
        response = collect(request)
        assert response.status_code in (202, 400, 403), (payload, response.content)


def test_another_origin_is_refused(site):
    response = post(batch(site), origin="https://evil.example")
    assert response.status_code == 403
    assert "does not accept page views from https://evil.example" in response.json()["error"]


def test_a_site_that_waits_for_consent_refuses_batches_without_it(site, admin_user):
    save_site(actor=admin_user, site=site, data={"name": "Shop", "origins": [ORIGIN],
                                                  "consent_mode": ConsentMode.AFTER_CONSENT})
    refused = post(batch(site))
    assert refused.status_code == 400 and "only after the visitor consents" in refused.json()["error"]
    assert post(batch(site, consent=True)).status_code == 202


@pytest.mark.parametrize("header", ["HTTP_DNT", "HTTP_SEC_GPC"])
def test_do_not_track_and_global_privacy_control_are_honoured(site, header):
    response = post(batch(site), **{header: "1"})
    assert response.status_code == 202 and response.json()["accepted"] == 0
    assert not Event.objects.exists()


def test_an_inactive_site_accepts_nothing(site, admin_user):
    save_site(actor=admin_user, site=site, data={"name": "Shop", "origins": [ORIGIN], "active": False})
    assert post(batch(site)).status_code == 400


def test_a_signed_link_joins_the_history_and_later_views_go_to_the_contact(site, seller, make_contact):
    contact = make_contact(seller, email="pat@buyer.example")
    assert post(batch(site, view("/one"), view("/two"))).status_code == 202
    token = identity.contact_link_token(contact)
    link = identity.tracked_link(f"{ORIGIN}/offer?utm_source=mail", contact)
    assert "rapport_ct=" in link
    response = post(batch(site, view("/offer?utm_source=mail&rapport_ct=" + token), contact_token=token))
    assert response.status_code == 202
    views = Event.objects.filter(kind="page_view", contact=contact).order_by("id")
    assert [e.payload["url"] for e in views] == [f"{ORIGIN}/one", f"{ORIGIN}/two", f"{ORIGIN}/offer?utm_source=mail"]
    assert not VisitorPageView.objects.exists()
    assert post(batch(site, view("/later"))).status_code == 202
    assert Event.objects.filter(kind="page_view", contact=contact).count() == 4
    # The seller sees them on the contact's timeline.
    from rapport.timeline.selectors import contact_timeline

    summaries = [e.summary for e in contact_timeline(seller, contact.pk, kind="page_view").items]
    assert len(summaries) == 4


def test_a_forged_token_is_ignored_and_the_views_stay_anonymous(site, seller, make_contact):
    contact = make_contact(seller)
    forged = identity.contact_link_token(contact)[:-2] + "xx"
    assert post(batch(site, contact_token=forged)).status_code == 202
    assert not Event.objects.filter(contact=contact, kind="page_view").exists()
    assert VisitorPageView.objects.count() == 1


def test_site_origins_are_validated(admin_user, seller):
    from rapport.core.errors import NotAllowed, ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        save_site(actor=admin_user, data={"name": "X", "origins": "www.shop.example"})
    assert "is not an origin" in exc.value.errors["origins"]
    with pytest.raises(ValidationFailed) as exc:
        save_site(actor=admin_user, data={"name": "", "origins": ""})
    assert set(exc.value.errors) == {"name", "origins"}
    with pytest.raises(NotAllowed):
        save_site(actor=seller, data={"name": "X", "origins": ORIGIN})
    saved = save_site(actor=admin_user, data={"name": "X", "origins": "HTTPS://WWW.Shop.Example/"})
    assert saved.origins == [ORIGIN]


def test_site_pages_show_the_install_line_to_marketers_only(marketer, seller):
    from django.urls import reverse

    client = Client()
    client.force_login(seller)
    assert client.get(reverse("capture_site_new")).status_code == 403
    client.force_login(marketer)
    bad = client.post(reverse("capture_site_new"), {"name": "Blog", "origins": "blog.example",
                                                     "consent_mode": "after_consent", "active": "1"})
    assert bad.status_code == 400 and "is not an origin" in bad.content.decode()
    response = client.post(reverse("capture_site_new"), {"name": "Blog", "origins": "https://blog.example",
                                                          "consent_mode": "after_consent", "active": "1"})
    assert response.status_code == 302
    import html

    # The line sits in a text box, escaped; what the marketer copies is the unescaped text.
    page = html.unescape(client.get(response["Location"]).content.decode())
    from rapport.leads.models import TrackedSite

    site = TrackedSite.objects.get(name="Blog")
    assert f'data-site="{site.key}"' in page and 'data-consent="after_consent"' in page
    assert "/static/leads/track.js" in page


def test_refusals_are_readable_by_tracked_sites_only(site):
    mine = post(batch(site, view(title=5)))
    assert mine.status_code == 400 and mine["Access-Control-Allow-Origin"] == ORIGIN
    stranger = post({"site": "unknown"}, origin="https://evil.example")
    assert stranger.status_code == 400 and "Access-Control-Allow-Origin" not in stranger
