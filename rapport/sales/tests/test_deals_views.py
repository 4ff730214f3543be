"""The deal board, its lazily paged columns, moving cards (htmx and plain forms) and the list."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from rapport.sales.models import CloseReason, Deal, DealStatus
from rapport.sales.selectors import deals as selectors
from rapport.sales.services import deals as services
from rapport.sales.services import pipelines as pipeline_services
from rapport.timeline.models import Event

from .deals_view_fixtures import (  # noqa: F401
    HTMX,
    as_seller_fixture,
    htmx,
    make_deal_fixture,
    pipeline_fixture,
    stages_fixture,
)


def board_url(pipeline, **params) -> str:
    url = reverse("deal_board", args=[pipeline.pk])
    return f"{url}?{urlencode(params)}" if params else url


# --- board -------------------------------------------------------------------------------------

def test_board_shows_columns_with_counts_totals_per_currency_and_cards(as_seller, seller, other_seller, make_deal,
                                                                       stages, pipeline):
    first, second = stages[0], stages[1]
    make_deal(seller, name="Fleet renewal", amount="1200.50")
    make_deal(seller, name="Printer lease", amount="300")
    make_deal(seller, name="US expansion", amount="5000", currency="USD", stage=second.pk, probability=40)
    make_deal(other_seller, name="Southern secret", amount="999")
    response = as_seller.get(reverse("deal_board"))
    assert response.status_code == 200
    html = response.content.decode()
    columns = {c.stage.pk: c for c in response.context["columns"]}
    assert [c.stage.pk for c in response.context["columns"]] == [s.pk for s in stages]
    assert columns[first.pk].count == 2 and columns[second.pk].count == 1
    assert "1,500.50 EUR" in html  # the first column's total
    weighted = f"{1500.50 * first.probability / 100:,.2f} EUR"
    assert weighted in html
    assert "5,000.00 USD" in html and "2,000.00 USD" in html  # overridden probability 40%
    assert "Fleet renewal" in html and "US expansion" in html
    assert "Southern secret" not in html and "999" not in html
    # Every card carries a keyboard-usable "Move to" form posting to the move endpoint.
    deal = Deal.objects.get(name="Fleet renewal")
    assert f'action="{reverse("deal_move", args=[deal.pk])}"' in html and 'name="stage"' in html
    assert f'<option value="{first.pk}" selected>' in html  # the card's menu starts at its own stage
    # Pipeline tabs: one per live pipeline.
    assert f'href="{reverse("deal_board", args=[pipeline.pk])}"' in html


def test_stalled_deals_are_flagged_on_the_board(as_seller, seller, make_deal):
    quiet = make_deal(seller, name="Quiet one")
    make_deal(seller, name="Busy one")
    Deal.objects.filter(pk=quiet.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=40))
    response = as_seller.get(reverse("deal_board"))
    cards = {d.name: d for c in response.context["columns"] for d in c.page.items}
    assert cards["Quiet one"].stalled and not cards["Busy one"].stalled
    assert response.content.decode().count(">Stalled</span>") == 1


def test_board_of_another_pipeline_and_unknown_pipeline(as_seller, seller, admin_user, make_deal):
    renewals = pipeline_services.create_pipeline(actor=admin_user, data={"name": "Renewals", "kind": "renewal"},
                                                 stages=[{"name": "Due", "probability": 60}])
    due = selectors.stages_of(renewals)[0]
    make_deal(seller, name="Renew support", pipeline=renewals.pk)
    make_deal(seller, name="New thing")
    html = as_seller.get(board_url(renewals)).content.decode()
    assert "Renew support" in html and "New thing" not in html and f'id="cards-{due.pk}"' in html
    assert as_seller.get(reverse("deal_board", args=[999999])).status_code == 404
    pipeline_services.delete_pipeline(actor=admin_user, pipeline=pipeline_services.create_pipeline(
        actor=admin_user, data={"name": "Gone"}))
    gone = selectors.Pipeline.objects.get(name="Gone")
    assert as_seller.get(board_url(gone)).status_code == 404


def test_board_filters_by_owner_team_and_close_month(client, manager, seller, teammate, other_seller, admin_user,
                                                     make_deal, pipeline, teams):
    make_deal(seller, name="Sam December", expected_close_date="2026-12-10")
    make_deal(seller, name="Sam January", expected_close_date="2027-01-05")
    make_deal(teammate, name="Tia December", expected_close_date="2026-12-20")
    make_deal(other_seller, name="Otto December", expected_close_date="2026-12-01")
    client.force_login(admin_user)

    def names(**params):
        response = client.get(board_url(pipeline, **params))
        assert response.status_code == 200
        return {d.name for c in response.context["columns"] for d in c.page.items}

    assert names() == {"Sam December", "Sam January", "Tia December", "Otto December"}
    assert names(owner=seller.pk) == {"Sam December", "Sam January"}
    assert names(team=teams["south"].pk) == {"Otto December"}
    assert names(close_month="2026-12") == {"Sam December", "Tia December", "Otto December"}
    assert names(close_month="2026-12", team=teams["north"].pk) == {"Sam December", "Tia December"}
    # A manager sees the team's deals only, whatever the filter asks for.
    client.force_login(manager)
    assert names(team=teams["south"].pk) == set()


@pytest.mark.parametrize(("params", "field"), [({"close_month": "2026-13"}, "close_month"),
                                               ({"close_month": "12/2026"}, "close_month"),
                                               ({"owner": "me"}, "owner"), ({"team": "north"}, "team")])
def test_bad_board_filters_are_named(as_seller, pipeline, params, field):
    response = as_seller.get(board_url(pipeline, **params))
    assert response.status_code == 200
    assert field in response.context["error"]
    assert 'role="alert"' in response.content.decode()


def test_board_filter_form_swaps_only_the_board_with_htmx(as_seller, seller, make_deal, pipeline):
    make_deal(seller, name="Only this", expected_close_date="2026-12-10")
    response = as_seller.get(board_url(pipeline, close_month="2026-12"), **htmx("board"))
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board">') and "<html" not in html
    assert "Only this" in html


def test_board_runs_the_same_queries_for_5_or_60_deals(as_seller, seller, make_deal, stages,
                                                       django_assert_max_num_queries):
    def fill(n):
        for i in range(n):
            make_deal(seller, stage=stages[i % len(stages)].pk, currency=("EUR", "USD")[i % 2])

    fill(5)
    with django_assert_max_num_queries(30) as few:
        as_seller.get(reverse("deal_board"))
    fill(55)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = as_seller.get(reverse("deal_board"))
    assert response.status_code == 200
    assert sum(c.count for c in response.context["columns"]) == 60


# --- a column's next pages ---------------------------------------------------------------------

def test_column_loads_more_cards_lazily(as_seller, seller, make_deal, stages):
    first = stages[0]
    for i in range(selectors.BOARD_PAGE + 5):
        make_deal(seller, name=f"Card {i:02d}")
    response = as_seller.get(reverse("deal_board"))
    column = response.context["columns"][0]
    html = response.content.decode()
    assert len(column.page.items) == selectors.BOARD_PAGE
    more_url = f"{reverse('deal_board_column', args=[first.pk])}?cursor={column.page.next_cursor}"
    assert 'hx-trigger="revealed"' in html and more_url.replace("&", "&amp;") in html
    rest = as_seller.get(more_url, **htmx("")).content.decode()
    assert "<html" not in rest
    assert "Card 00" in rest and "Card 04" in rest and "Card 05" not in rest
    assert 'hx-trigger="revealed"' not in rest  # nothing left to load


def test_column_keeps_the_filters_and_works_without_javascript(as_seller, seller, make_deal, stages, pipeline):
    for i in range(selectors.BOARD_PAGE + 2):
        make_deal(seller, name=f"Dec {i:02d}", expected_close_date="2026-12-01")
    make_deal(seller, name="January deal", expected_close_date="2027-01-01")
    column = as_seller.get(board_url(pipeline, close_month="2026-12")).context["columns"][0]
    url = reverse("deal_board_column", args=[stages[0].pk])
    page = as_seller.get(url, {"close_month": "2026-12", "cursor": column.page.next_cursor})
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html and "Back to the board" in html
    assert "Dec 00" in html and "Dec 01" in html and "January deal" not in html


def test_column_hides_other_teams_deals_and_refuses_unknown_stages(client, seller, other_seller, admin_user,
                                                                   make_deal, stages):
    make_deal(seller, name="North only")
    client.force_login(other_seller)
    html = client.get(reverse("deal_board_column", args=[stages[0].pk]), **HTMX).content.decode()
    assert "North only" not in html
    assert client.get(reverse("deal_board_column", args=[999999])).status_code == 404
    gone = pipeline_services.create_pipeline(actor=admin_user, data={"name": "Gone"}, stages=[{"name": "Only"}])
    only = selectors.stages_of(gone)[0]
    pipeline_services.delete_pipeline(actor=admin_user, pipeline=gone)
    assert client.get(reverse("deal_board_column", args=[only.pk])).status_code == 404
    assert client.get(reverse("deal_board_column", args=[stages[0].pk]), {"cursor": "broken!"},
                      **HTMX).status_code == 204


# --- moving a card -----------------------------------------------------------------------------

def test_plain_move_form_moves_and_goes_back_to_the_filtered_board(as_seller, seller, make_deal, stages, pipeline):
    deal = make_deal(seller, name="Keyboard mover")
    back = board_url(pipeline, close_month="2026-12")
    response = as_seller.post(reverse("deal_move", args=[deal.pk]), {"stage": stages[2].pk, "next": back})
    assert response.status_code == 302 and response.url == back
    deal.refresh_from_db()
    assert deal.stage_id == stages[2].pk
    event = Event.objects.get(deal=deal, kind="stage_change")
    assert event.payload["from_stage"] == stages[0].pk and event.payload["to_stage"] == stages[2].pk
    assert any("moved to" in str(m) for m in get_messages(response.wsgi_request))


def test_the_cards_csrf_field_is_accepted(seller, make_deal, stages, pipeline):
    """Every card's form carries the page's one CSRF field (made once, not once per card)."""
    import re

    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(seller)
    deal = make_deal(seller)
    html = client.get(board_url(pipeline)).content.decode()
    token = re.search(rf'id="deal-card-{deal.pk}".*?name="csrfmiddlewaretoken" value="([^"]+)"', html, re.S).group(1)
    assert client.post(reverse("deal_move", args=[deal.pk]), {"stage": stages[1].pk}).status_code == 403
    response = client.post(reverse("deal_move", args=[deal.pk]), {"stage": stages[1].pk,
                                                                  "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage_id == stages[1].pk


def test_move_ignores_a_next_address_on_another_site(as_seller, seller, make_deal, stages, pipeline):
    deal = make_deal(seller)
    response = as_seller.post(reverse("deal_move", args=[deal.pk]),
                              {"stage": stages[1].pk, "next": "https://evil.example/deals/"})
    assert response.url == reverse("deal_board", args=[pipeline.pk])
    response = as_seller.post(reverse("deal_move", args=[deal.pk]),
                              {"stage": stages[2].pk, "next": "//evil.example/"})
    assert response.url == reverse("deal_board", args=[pipeline.pk])


def test_htmx_move_answers_with_the_card_in_its_new_column_and_fresh_totals(as_seller, seller, make_deal, stages,
                                                                             pipeline):
    deal = make_deal(seller, name="Dragged", amount="250")
    make_deal(seller, name="Stays", amount="100")
    response = as_seller.post(reverse("deal_move", args=[deal.pk]),
                              {"stage": stages[1].pk, "next": board_url(pipeline)}, **htmx(f"deal-card-{deal.pk}"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'hx-swap-oob="afterbegin:#cards-{stages[1].pk}"' in html and "Dragged" in html
    heads = {c.stage.pk: c for c in response.context["columns"]}
    assert heads[stages[0].pk].count == 1 and heads[stages[0].pk].totals == {"EUR": 100}
    assert heads[stages[1].pk].count == 1 and heads[stages[1].pk].totals == {"EUR": 250}
    assert f'id="column-head-{stages[0].pk}" hx-swap-oob="true"' in html
    assert f'id="column-head-{stages[1].pk}" hx-swap-oob="true"' in html
    deal.refresh_from_db()
    assert deal.stage_id == stages[1].pk


def test_htmx_move_totals_follow_the_board_filters(as_seller, seller, make_deal, stages, pipeline):
    deal = make_deal(seller, amount="10", expected_close_date="2026-12-01")
    make_deal(seller, amount="1000", stage=stages[1].pk, expected_close_date="2027-03-01")
    response = as_seller.post(reverse("deal_move", args=[deal.pk]),
                              {"stage": stages[1].pk, "next": board_url(pipeline, close_month="2026-12")}, **HTMX)
    heads = {c.stage.pk: c for c in response.context["columns"]}
    assert heads[stages[1].pk].count == 1 and heads[stages[1].pk].totals == {"EUR": 10}


def test_moving_a_closed_deal_is_refused_clearly(as_seller, seller, make_deal, stages, pipeline):
    deal = make_deal(seller, name="Already lost")
    services.lose_deal(actor=seller, deal=deal, reason=CloseReason.objects.filter(outcome="lost").first().pk)
    response = as_seller.post(reverse("deal_move", args=[deal.pk]), {"stage": stages[1].pk}, **HTMX)
    assert response["HX-Retarget"] == "#board-message"
    assert "reopen it" in response.content.decode() and 'role="alert"' in response.content.decode()
    response = as_seller.post(reverse("deal_move", args=[deal.pk]), {"stage": stages[1].pk}, follow=True)
    assert "Could not move “Already lost”: this deal is lost; reopen it before moving it." in \
        response.content.decode()
    deal.refresh_from_db()
    assert deal.stage_id == stages[0].pk and deal.status == DealStatus.LOST


@pytest.mark.parametrize("stage", ["", "abc", "999999"])
def test_moving_to_a_bad_stage_is_refused(as_seller, seller, make_deal, stages, stage):
    deal = make_deal(seller)
    response = as_seller.post(reverse("deal_move", args=[deal.pk]), {"stage": stage}, **HTMX)
    assert response["HX-Retarget"] == "#board-message"
    assert "Could not move" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage_id == stages[0].pk


def test_another_teams_deal_cannot_be_moved(client, seller, other_seller, make_deal, stages):
    deal = make_deal(seller)
    client.force_login(other_seller)
    assert client.post(reverse("deal_move", args=[deal.pk]), {"stage": stages[1].pk}).status_code == 404
    assert client.post(reverse("deal_move", args=[deal.pk]), {"stage": stages[1].pk}, **HTMX).status_code == 404
    deal.refresh_from_db()
    assert deal.stage_id == stages[0].pk
    assert client.get(reverse("deal_move", args=[deal.pk])).status_code in (404, 405)


# --- list --------------------------------------------------------------------------------------

def test_list_shows_visible_deals_with_filters(as_seller, seller, other_seller, make_deal, stages):
    make_deal(seller, name="Alpha open")
    won = make_deal(seller, name="Beta won", stage=stages[3].pk)
    services.win_deal(actor=seller, deal=won, reason=CloseReason.objects.filter(outcome="won").first().pk,
                      create_order=False)
    quiet = make_deal(seller, name="Gamma quiet")
    Deal.objects.filter(pk=quiet.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=60))
    make_deal(other_seller, name="Hidden south")

    def names(**params):
        response = as_seller.get(reverse("deal_list"), params)
        assert response.status_code == 200
        return [d.name for d in response.context["page"].items]

    assert set(names()) == {"Alpha open", "Beta won", "Gamma quiet"}
    assert names(status="won") == ["Beta won"]
    assert names(stage=stages[3].pk) == ["Beta won"]
    assert names(stalled="1") == ["Gamma quiet"]
    assert names(q="alp") == ["Alpha open"]
    assert names(sort="name") == ["Alpha open", "Beta won", "Gamma quiet"]
    assert names(sort="-name") == ["Gamma quiet", "Beta won", "Alpha open"]
    html = as_seller.get(reverse("deal_list")).content.decode()
    assert "Hidden south" not in html and ">Stalled</span>" in html and ">Won</span>" in html


@pytest.mark.parametrize(("params", "field"), [({"sort": "colour"}, "sort"), ({"status": "pending"}, "status"),
                                               ({"close_month": "2026-00"}, "close_month"),
                                               ({"stage": "first"}, "stage"), ({"cursor": "!!"}, "cursor")])
def test_list_names_bad_filters(as_seller, params, field):
    response = as_seller.get(reverse("deal_list"), params)
    assert response.status_code == 200 and field in response.context["error"]


def test_list_walks_every_deal_once_by_cursor(as_seller, seller, make_deal):
    made = {make_deal(seller).pk for _ in range(23)}
    seen, params = [], {"size": 10, "sort": "-amount"}
    for _ in range(5):
        page = as_seller.get(reverse("deal_list"), params).context["page"]
        seen += [d.pk for d in page.items]
        if not page.next_cursor:
            break
        params = {**params, "cursor": page.next_cursor}
    assert sorted(seen) == sorted(made)


def test_list_rows_swap_with_htmx(as_seller, seller, make_deal):
    make_deal(seller, name="Swapped")
    html = as_seller.get(reverse("deal_list"), {"q": "swa"}, **htmx("deal-rows")).content.decode()
    assert '<div id="deal-rows">' in html and "<html" not in html


def test_list_runs_the_same_queries_for_5_or_60_deals(as_seller, seller, make_deal, make_company, stages,
                                                      django_assert_max_num_queries):
    company = make_company(seller)

    def fill(n):
        for i in range(n):
            make_deal(seller, stage=stages[i % len(stages)].pk, company=company.pk)

    fill(5)
    with django_assert_max_num_queries(30) as few:
        as_seller.get(reverse("deal_list"))
    fill(55)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = as_seller.get(reverse("deal_list"))
    assert len(response.context["page"].items) == 50


# --- CSV export --------------------------------------------------------------------------------

def test_export_the_filtered_list_as_csv(as_seller, seller, other_seller, make_deal, make_company, stages):
    import csv
    import io

    company = make_company(seller, name="=HYPERLINK(1)")
    make_deal(seller, name="Export me", amount="1234.5", company=company.pk, expected_close_date="2026-12-05")
    make_deal(seller, name="Not this month", expected_close_date="2027-01-05")
    make_deal(other_seller, name="Hidden south", expected_close_date="2026-12-05")
    html = as_seller.get(reverse("deal_list"), {"close_month": "2026-12"}).content.decode()
    assert f'href="{reverse("deal_export")}?close_month=2026-12"' in html
    response = as_seller.get(reverse("deal_export"), {"close_month": "2026-12"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][:5] == ["ID", "Name", "Company", "Pipeline", "Stage"]
    assert [r[1] for r in rows[1:]] == ["Export me"]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Company"] == "'=HYPERLINK(1)"  # a spreadsheet would run it as a formula
    assert (record["Amount"], record["Currency"], record["Expected Close"]) == ("1234.50", "EUR", "2026-12-05")
    assert record["Stage"] == stages[0].name and record["Status"] == "Open"
    bad = as_seller.get(reverse("deal_export"), {"sort": "colour"})
    assert bad.status_code == 400 and "sort" in bad.content.decode()
