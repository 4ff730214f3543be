"""Pipeline, stage and close-reason admin pages: admins shape the process, nobody else may."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.sales.models import CloseReason, Pipeline, Stage
from rapport.sales.selectors import deals as selectors

from .deals_view_fixtures import make_deal_fixture, pipeline_fixture, stages_fixture  # noqa: F401


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


def test_admin_pages_render(as_admin, pipeline, stages):
    html = as_admin.get(reverse("deal_pipelines")).content.decode()
    assert "New business" in html and stages[0].name in html
    html = as_admin.get(reverse("deal_pipeline_edit", args=[pipeline.pk])).content.decode()
    assert all(s.name in html for s in stages)
    html = as_admin.get(reverse("deal_close_reasons")).content.decode()
    assert CloseReason.objects.filter(outcome="won").first().label in html
    assert as_admin.get(reverse("deal_pipeline_edit", args=[999999])).status_code == 404
    assert 'href="/deals/pipelines/"' in as_admin.get(reverse("deal_board")).content.decode()


@pytest.mark.parametrize("who", ["seller", "manager", "marketer"])
def test_non_admins_are_refused_everywhere(client, request, who, pipeline, stages):
    client.force_login(request.getfixturevalue(who))
    reason = CloseReason.objects.first()
    gets = [reverse("deal_pipelines"), reverse("deal_pipeline_edit", args=[pipeline.pk]),
            reverse("deal_close_reasons")]
    for url in gets:
        assert client.get(url).status_code == 403, url
    posts = [
        (reverse("deal_pipeline_new"), {"name": "Sneaky"}),
        (reverse("deal_pipeline_edit", args=[pipeline.pk]), {"name": "Renamed"}),
        (reverse("deal_pipeline_delete", args=[pipeline.pk]), {}),
        (reverse("deal_stage_add", args=[pipeline.pk]), {"name": "Extra", "probability": "5"}),
        (reverse("deal_stage_edit", args=[stages[0].pk]), {"name": "Renamed"}),
        (reverse("deal_stage_move", args=[stages[0].pk]), {"direction": "down"}),
        (reverse("deal_stage_remove", args=[stages[-1].pk]), {}),
        (reverse("deal_close_reasons"), {"outcome": "won", "label": "Sneaky"}),
        (reverse("deal_close_reason_edit", args=[reason.pk]), {"active": "0"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert list(Pipeline.objects.values_list("name", flat=True)) == ["New business"]
    assert [s.pk for s in selectors.stages_of(pipeline)] == [s.pk for s in stages]
    assert [s.name for s in selectors.stages_of(pipeline)] == [s.name for s in stages]
    reason.refresh_from_db()
    assert reason.active and not CloseReason.objects.filter(label="Sneaky").exists()
    # They do not see the way in either.
    assert 'href="/deals/pipelines/"' not in client.get(reverse("deal_board")).content.decode()


def test_create_and_edit_a_pipeline(as_admin):
    response = as_admin.post(reverse("deal_pipeline_new"), {"name": "Renewals", "kind": "renewal",
                                                             "stall_days": "30"})
    renewals = Pipeline.objects.get(name="Renewals")
    assert response.status_code == 302 and response.url == reverse("deal_pipeline_edit", args=[renewals.pk])
    assert renewals.kind == "renewal" and renewals.stall_days == 30 and renewals.stages.count() == 1
    response = as_admin.post(reverse("deal_pipeline_edit", args=[renewals.pk]),
                             {"name": "Contract renewals", "kind": "renewal", "stall_days": "21"})
    renewals.refresh_from_db()
    assert response.status_code == 302 and (renewals.name, renewals.stall_days) == ("Contract renewals", 21)


@pytest.mark.parametrize(("data", "field"), [
    ({"name": "", "kind": "new_business", "stall_days": "14"}, "name"),
    ({"name": "new BUSINESS", "kind": "new_business", "stall_days": "14"}, "name"),
    ({"name": "Upsell", "kind": "sideways", "stall_days": "14"}, "kind"),
    ({"name": "Upsell", "kind": "upsell", "stall_days": "0"}, "stall_days"),
    ({"name": "Upsell", "kind": "upsell", "stall_days": "two weeks"}, "stall_days"),
])
def test_bad_pipeline_input_is_named(as_admin, pipeline, data, field):
    response = as_admin.post(reverse("deal_pipeline_new"), data)
    assert response.status_code == 422 and field in response.context["errors"]
    assert 'aria-invalid="true"' in response.content.decode()
    assert Pipeline.objects.count() == 1
    if data["name"].lower() != pipeline.name.lower():  # renaming a pipeline to its own name is fine
        response = as_admin.post(reverse("deal_pipeline_edit", args=[pipeline.pk]), data)
        assert response.status_code == 422 and field in response.context["pipeline_errors"]
        pipeline.refresh_from_db()
        assert (pipeline.name, pipeline.stall_days) == ("New business", 14)


def test_stages_add_rename_reorder_and_remove_without_losing_deals(as_admin, admin_user, pipeline, stages,
                                                                   make_deal):
    deal = make_deal(admin_user, stage=stages[1].pk)
    as_admin.post(reverse("deal_stage_add", args=[pipeline.pk]), {"name": "Legal review", "probability": "85"})
    legal = Stage.objects.get(pipeline=pipeline, name="Legal review")
    assert legal.probability == 85 and selectors.stages_of(pipeline)[-1] == legal
    as_admin.post(reverse("deal_stage_edit", args=[stages[1].pk]), {"name": "Discovery", "probability": "20"})
    as_admin.post(reverse("deal_stage_move", args=[stages[1].pk]), {"direction": "up"})
    order = [s.name for s in selectors.stages_of(pipeline)]
    assert order[:2] == ["Discovery", stages[0].name]
    as_admin.post(reverse("deal_stage_move", args=[legal.pk]), {"direction": "down"})  # already last: no change
    assert selectors.stages_of(pipeline)[-1] == legal
    deal.refresh_from_db()
    assert deal.stage_id == stages[1].pk and deal.stage.name == "Discovery"
    # A stage holding a deal stays, and says why; an empty one goes.
    response = as_admin.post(reverse("deal_stage_remove", args=[stages[1].pk]), follow=True)
    assert Stage.objects.filter(pk=stages[1].pk).exists() and "stays" in response.content.decode()
    as_admin.post(reverse("deal_stage_remove", args=[legal.pk]))
    assert not Stage.objects.filter(pk=legal.pk).exists()


@pytest.mark.parametrize(("data", "field"), [({"name": "", "probability": "10"}, "name"),
                                             ({"name": "Won-ish", "probability": "101"}, "probability"),
                                             ({"name": "Won-ish", "probability": "high"}, "probability")])
def test_bad_stage_input_is_named(as_admin, pipeline, stages, data, field):
    response = as_admin.post(reverse("deal_stage_add", args=[pipeline.pk]), data)
    assert response.status_code == 422 and field in response.context["new_stage_errors"]
    response = as_admin.post(reverse("deal_stage_edit", args=[stages[0].pk]), data)
    assert response.status_code == 422
    rows = {stage.pk: errors for stage, errors, _ in response.context["stage_rows"]}
    assert field in rows[stages[0].pk]
    assert [s.name for s in selectors.stages_of(pipeline)] == [s.name for s in stages]


def test_duplicate_stage_name_is_refused(as_admin, pipeline, stages):
    response = as_admin.post(reverse("deal_stage_add", args=[pipeline.pk]), {"name": stages[0].name.upper(),
                                                                              "probability": "5"})
    assert response.status_code == 422 and "already has a stage" in response.context["new_stage_errors"]["name"]


def test_an_empty_pipeline_can_be_removed_a_busy_one_not(as_admin, admin_user, pipeline, make_deal):
    make_deal(admin_user)
    response = as_admin.post(reverse("deal_pipeline_delete", args=[pipeline.pk]), follow=True)
    assert "move or close this pipeline" in response.content.decode()
    pipeline.refresh_from_db()
    assert pipeline.deleted_at is None
    as_admin.post(reverse("deal_pipeline_new"), {"name": "Spare", "kind": "upsell", "stall_days": "14"})
    spare = Pipeline.objects.get(name="Spare")
    assert as_admin.post(reverse("deal_pipeline_delete", args=[spare.pk])).status_code == 302
    spare.refresh_from_db()
    assert spare.deleted_at is not None


def test_close_reasons_add_rename_retire_and_bring_back(as_admin):
    response = as_admin.post(reverse("deal_close_reasons"), {"outcome": "lost", "label": "Went quiet"})
    assert response.status_code == 302
    quiet = CloseReason.objects.get(label="Went quiet")
    assert quiet.outcome == "lost" and quiet.active
    as_admin.post(reverse("deal_close_reason_edit", args=[quiet.pk]), {"label": "No reply"})
    quiet.refresh_from_db()
    assert quiet.label == "No reply"
    as_admin.post(reverse("deal_close_reason_edit", args=[quiet.pk]), {"active": "0"})
    quiet.refresh_from_db()
    assert not quiet.active and quiet not in selectors.close_reasons("lost")
    html = as_admin.get(reverse("deal_close_reasons")).content.decode()
    assert "Bring back No reply" in html
    as_admin.post(reverse("deal_close_reason_edit", args=[quiet.pk]), {"active": "1"})
    quiet.refresh_from_db()
    assert quiet.active


@pytest.mark.parametrize(("data", "field"), [({"outcome": "won", "label": ""}, "label"),
                                             ({"outcome": "maybe", "label": "Hmm"}, "outcome"),
                                             ({"outcome": "won", "label": "x" * 121}, "label")])
def test_bad_close_reason_is_named(as_admin, data, field):
    before = CloseReason.objects.count()
    response = as_admin.post(reverse("deal_close_reasons"), data)
    assert response.status_code == 422 and field in response.context["new_errors"]
    assert CloseReason.objects.count() == before


def test_duplicate_close_reason_label_is_refused_on_rename(as_admin):
    first, second = CloseReason.objects.filter(outcome="won")[:2]
    response = as_admin.post(reverse("deal_close_reason_edit", args=[first.pk]), {"label": second.label.lower()})
    assert response.status_code == 422
    rows = {r.pk: errors for _, reasons in response.context["reason_lists"] for r, errors in reasons}
    assert "already on the list" in rows[first.pk]["label"]
