"""Admin pages that shape the sales process: pipelines, their stages, and the close reasons.

Only admins reach them: anyone else gets 403 (the pages exist and the pipelines are no secret,
the user is just not allowed to change them), as the API answers NotAllowed. The services
check again, so a crafted POST is refused the same way.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.visibility import is_admin

from ..models import DealStatus, PipelineKind
from ..selectors import deals as selectors
from ..services import pipelines as services


def admin_only(view):
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied("Only an admin may change pipelines, stages and close reasons.")
        request.nav_section = "deals"
        try:
            return view(request, *args, **kwargs)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except NotVisible as exc:
            raise Http404("No such pipeline or stage") from exc
    return wrapped


def _fields(request: HttpRequest, *names: str) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in names if name in request.POST}


def _list_page(request: HttpRequest, *, status: int = 200, errors=None, values=None) -> HttpResponse:
    return render(request, "sales/deals/pipelines.html", {
        "pipelines": selectors.pipelines_with_stages(), "kinds": PipelineKind.choices,
        "errors": errors or {}, "values": values or {"stall_days": "14"},
    }, status=status)


@admin_only
def deal_pipelines(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@admin_only
@require_POST
def deal_pipeline_new(request: HttpRequest) -> HttpResponse:
    data = _fields(request, "name", "kind", "stall_days")
    try:
        pipeline = services.create_pipeline(actor=request.user, data=data,
                                            stages=[{"name": "New", "probability": 10}])
    except ValidationFailed as exc:
        return _list_page(request, status=422, errors=exc.errors, values=data)
    messages.success(request, f"Pipeline “{pipeline.name}” created with one stage; add the others below.")
    return redirect("deal_pipeline_edit", pipeline_id=pipeline.pk)


def _edit_page(request: HttpRequest, pipeline, *, status: int = 200, **extra) -> HttpResponse:
    stage_errors, stage_values = extra.pop("stage_errors", {}), extra.pop("stage_values", {})
    context = {"pipeline": pipeline, "kinds": PipelineKind.choices, "pipeline_errors": {}, "pipeline_values": {},
               "stage_rows": [(stage, stage_errors.get(stage.pk, {}), stage_values.get(stage.pk, {}))
                              for stage in selectors.stages_of(pipeline)],
               "new_stage_errors": {}, "new_stage": {"probability": "10"}, **extra}
    return render(request, "sales/deals/pipeline_edit.html", context, status=status)


@admin_only
def deal_pipeline_edit(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    pipeline = selectors.get_pipeline(pipeline_id)
    if request.method != "POST":
        return _edit_page(request, pipeline)
    data = _fields(request, "name", "kind", "stall_days")
    try:
        services.update_pipeline(actor=request.user, pipeline=pipeline, data=data)
    except ValidationFailed as exc:
        pipeline.refresh_from_db()
        return _edit_page(request, pipeline, status=422, pipeline_errors=exc.errors, pipeline_values=data)
    messages.success(request, "Pipeline saved.")
    return redirect("deal_pipeline_edit", pipeline_id=pipeline.pk)


@admin_only
@require_POST
def deal_pipeline_delete(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    pipeline = selectors.get_pipeline(pipeline_id)
    try:
        services.delete_pipeline(actor=request.user, pipeline=pipeline)
    except ValidationFailed as exc:
        messages.error(request, "; ".join(exc.errors.values()))
        return redirect("deal_pipeline_edit", pipeline_id=pipeline.pk)
    messages.success(request, f"Pipeline “{pipeline.name}” removed.")
    return redirect("deal_pipelines")


@admin_only
@require_POST
def deal_stage_add(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    pipeline = selectors.get_pipeline(pipeline_id)
    data = _fields(request, "name", "probability")
    try:
        stage = services.add_stage(actor=request.user, pipeline=pipeline, data=data)
    except ValidationFailed as exc:
        return _edit_page(request, pipeline, status=422, new_stage_errors=exc.errors, new_stage=data)
    messages.success(request, f"Stage “{stage.name}” added at the end.")
    return redirect("deal_pipeline_edit", pipeline_id=pipeline.pk)


@admin_only
@require_POST
def deal_stage_edit(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Rename a stage or change its default probability; its deals stay in it."""
    stage = selectors.get_stage(stage_id)
    data = _fields(request, "name", "probability")
    try:
        services.update_stage(actor=request.user, stage=stage, data=data)
    except ValidationFailed as exc:
        return _edit_page(request, stage.pipeline, status=422, stage_errors={stage.pk: exc.errors},
                          stage_values={stage.pk: data})
    messages.success(request, "Stage saved.")
    return redirect("deal_pipeline_edit", pipeline_id=stage.pipeline_id)


@admin_only
@require_POST
def deal_stage_move(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Swap a stage with its neighbour above or below."""
    stage = selectors.get_stage(stage_id)
    order = [s.pk for s in selectors.stages_of(stage.pipeline)]
    index = order.index(stage.pk)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        services.reorder_stages(actor=request.user, pipeline=stage.pipeline, stage_ids=order)
    return redirect("deal_pipeline_edit", pipeline_id=stage.pipeline_id)


@admin_only
@require_POST
def deal_stage_remove(request: HttpRequest, stage_id: int) -> HttpResponse:
    stage = selectors.get_stage(stage_id)
    try:
        services.remove_stage(actor=request.user, stage=stage)
    except ValidationFailed as exc:
        messages.error(request, f"“{stage.name}” stays: " + "; ".join(exc.errors.values()))
    else:
        messages.success(request, f"Stage “{stage.name}” removed.")
    return redirect("deal_pipeline_edit", pipeline_id=stage.pipeline_id)


def _reasons_page(request: HttpRequest, *, status: int = 200, **extra) -> HttpResponse:
    reason_errors = extra.pop("reason_errors", {})
    context = {
        "reason_lists": [(label, [(reason, reason_errors.get(reason.pk, {}))
                                  for reason in selectors.close_reasons(outcome, include_inactive=True)])
                         for outcome, label in ((DealStatus.WON, "Won"), (DealStatus.LOST, "Lost"))],
        "outcomes": [(DealStatus.WON, "Won"), (DealStatus.LOST, "Lost")],
        "new_errors": {}, "new_values": {}, **extra,
    }
    return render(request, "sales/deals/close_reasons.html", context, status=status)


@admin_only
def deal_close_reasons(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _reasons_page(request)
    data = _fields(request, "outcome", "label")
    try:
        reason = services.save_close_reason(actor=request.user, data=data)
    except ValidationFailed as exc:
        return _reasons_page(request, status=422, new_errors=exc.errors, new_values=data)
    messages.success(request, f"Reason “{reason.label}” added.")
    return redirect("deal_close_reasons")


@admin_only
@require_POST
def deal_close_reason_edit(request: HttpRequest, reason_id: int) -> HttpResponse:
    """Rename a reason, or retire it (closed deals keep it) and bring it back."""
    reason = selectors.get_close_reason(reason_id)
    data = _fields(request, "label")
    if "active" in request.POST:
        data["active"] = request.POST["active"] == "1"
    try:
        services.save_close_reason(actor=request.user, reason=reason, data=data)
    except ValidationFailed as exc:
        return _reasons_page(request, status=422, reason_errors={reason.pk: exc.errors})
    messages.success(request, "Close reason saved.")
    return redirect("deal_close_reasons")


urlpatterns = [
    path("deals/pipelines/", deal_pipelines, name="deal_pipelines"),
    path("deals/pipelines/new/", deal_pipeline_new, name="deal_pipeline_new"),
    path("deals/pipelines/<int:pipeline_id>/", deal_pipeline_edit, name="deal_pipeline_edit"),
    path("deals/pipelines/<int:pipeline_id>/delete/", deal_pipeline_delete, name="deal_pipeline_delete"),
    path("deals/pipelines/<int:pipeline_id>/stages/", deal_stage_add, name="deal_stage_add"),
    path("deals/stages/<int:stage_id>/", deal_stage_edit, name="deal_stage_edit"),
    path("deals/stages/<int:stage_id>/move/", deal_stage_move, name="deal_stage_move"),
    path("deals/stages/<int:stage_id>/remove/", deal_stage_remove, name="deal_stage_remove"),
    path("deals/close-reasons/", deal_close_reasons, name="deal_close_reasons"),
    path("deals/close-reasons/<int:reason_id>/", deal_close_reason_edit, name="deal_close_reason_edit"),
]
