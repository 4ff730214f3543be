"""The deal selectors the pages added: column headers after a move, a deal's timeline, the
pipelines with their stages, stages of live pipelines only, and the teams a filter offers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.sales.models import CloseReason
from rapport.sales.selectors import deals as selectors
from rapport.sales.services import deals as services
from rapport.sales.services import pipelines as pipeline_services
from rapport.timeline import services as timeline

from .deals_view_fixtures import make_deal_fixture, pipeline_fixture, stages_fixture  # noqa: F401


def test_board_summary_of_some_columns_follows_the_filters(seller, other_seller, make_deal, pipeline, stages):
    make_deal(seller, amount="100", expected_close_date="2026-12-05")
    make_deal(seller, amount="40", currency="USD", expected_close_date="2026-12-06", probability=50)
    make_deal(seller, amount="7", expected_close_date="2027-01-01")
    make_deal(seller, amount="900", stage=stages[2].pk)
    make_deal(other_seller, amount="5000")
    lost = make_deal(seller, amount="3000")
    services.lose_deal(actor=seller, deal=lost, reason=CloseReason.objects.filter(outcome="lost").first().pk)
    columns = selectors.board_summary(seller, pipeline, {"close_month": "2026-12"}, stages=[stages[0], stages[1]])
    assert [c.stage for c in columns] == [stages[0], stages[1]]
    first = columns[0]
    assert first.count == 2
    assert first.totals == {"EUR": Decimal("100"), "USD": Decimal("40")}
    assert first.weighted == {"EUR": Decimal("100") * stages[0].probability / 100, "USD": Decimal("20")}
    assert columns[1].count == 0 and columns[1].totals == {}
    whole = {c.stage.pk: c for c in selectors.board_summary(seller, pipeline, {})}
    assert whole[stages[0].pk].count == 3 and whole[stages[2].pk].totals == {"EUR": Decimal("900")}
    with pytest.raises(ValidationFailed):
        selectors.board_summary(seller, pipeline, {"close_month": "December"})


def test_stages_of_a_pipeline_know_their_pipeline_without_a_query(pipeline, django_assert_num_queries):
    with django_assert_num_queries(1):
        stages = selectors.stages_of(pipeline)
        assert {s.pipeline.stall_days for s in stages} == {pipeline.stall_days}


def test_pipelines_with_stages_in_order(admin_user, pipeline, stages, django_assert_num_queries):
    other = pipeline_services.create_pipeline(actor=admin_user, data={"name": "Renewals"},
                                              stages=[{"name": "Due"}, {"name": "Renewed"}])
    with django_assert_num_queries(2):
        found = selectors.pipelines_with_stages()
        assert [p.pk for p in found] == [pipeline.pk, other.pk]
        assert [s.pk for s in found[0].stage_list] == [s.pk for s in stages]
        assert [s.name for s in found[1].stage_list] == ["Due", "Renewed"]


def test_get_stage_only_of_a_live_pipeline(admin_user, stages):
    assert selectors.get_stage(stages[0].pk) == stages[0]
    gone = pipeline_services.create_pipeline(actor=admin_user, data={"name": "Gone"}, stages=[{"name": "Only"}])
    only = selectors.stages_of(gone)[0]
    pipeline_services.delete_pipeline(actor=admin_user, pipeline=gone)
    for stage_id in (only.pk, 999999):
        with pytest.raises(NotVisible):
            selectors.get_stage(stage_id)


def test_deal_timeline_is_the_deals_events_for_those_who_see_it(seller, other_seller, make_deal, stages):
    deal = make_deal(seller)
    other = make_deal(seller)
    services.move_deal(actor=seller, deal=deal, stage=stages[1].pk)
    call = services.log_deal_activity(actor=seller, deal=deal, data={"kind": "call", "duration_minutes": 5})
    services.log_deal_activity(actor=seller, deal=deal, data={"kind": "note", "body": "Kept"})
    services.move_deal(actor=seller, deal=other, stage=stages[2].pk)
    page = selectors.deal_timeline(seller, deal.pk)
    assert [e.kind for e in page.items] == ["note", "call", "stage_change", "deal"]
    timeline.delete_activity(actor=seller, activity=call)
    assert [e.kind for e in selectors.deal_timeline(seller, deal.pk).items] == ["note", "stage_change", "deal"]
    assert [e.kind for e in selectors.deal_timeline(seller, deal.pk, kind="stage_change").items] == ["stage_change"]
    first = selectors.deal_timeline(seller, deal.pk, size=2)
    rest = selectors.deal_timeline(seller, deal.pk, size=2, cursor=first.next_cursor)
    assert [e.kind for e in first.items + rest.items] == ["note", "stage_change", "deal"]
    with pytest.raises(ValidationFailed):
        selectors.deal_timeline(seller, deal.pk, kind="gossip")
    with pytest.raises(NotVisible):
        selectors.deal_timeline(other_seller, deal.pk)


def test_filter_teams_by_what_the_user_sees(admin_user, seller, marketer, teams):
    assert list(selectors.filter_teams(admin_user)) == [teams["north"], teams["south"]]
    assert list(selectors.filter_teams(seller)) == [teams["north"]]
    assert list(selectors.filter_teams(marketer)) == [teams["north"], teams["south"]]  # marketers see all


def test_get_close_reason(db):
    reason = CloseReason.objects.first()
    assert selectors.get_close_reason(reason.pk) == reason
    with pytest.raises(NotVisible):
        selectors.get_close_reason(999999)
