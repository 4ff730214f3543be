"""The Rapport HTTP API (/api/v1/): assembles the routers each app declares in its api.py.

Every error has one of two shapes so clients need one error path:
- {"detail": "message"} for 401, 403, 404, 409 and 413;
- {"detail": [{"loc": ["body" | "query", field, ...], "msg": reason, "type": ...}]} for 422, whether
  the request failed ninja's schema checks or a service's rules.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as SchemaValidationError

from rapport.assistant.api import router as assistant_router
from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.leads.api import router as leads_router
from rapport.people.api import router as people_router
from rapport.reports.api import router as reports_router
from rapport.sales.api import router as sales_router
from rapport.timeline.api import router as timeline_router

from .auth import BrowserSession, PersonalToken


class RapportAPI(NinjaAPI):
    def validation_error_from_error_contexts(self, error_contexts):
        """Drop the Python parameter name ninja puts after "body" in `loc`.

        Ninja reports a bad e-mail in the body as ["body", "payload", "email"]; services report
        ["body", "email"]. A client should not need to know our function's parameter names.
        """
        error = super().validation_error_from_error_contexts(error_contexts)
        body_params = set()
        for context in error_contexts:
            if getattr(context.model, "__ninja_param_source__", None) == "body":
                body_params.update(context.model.model_fields)
        if len(body_params) == 1:
            (param,) = body_params
            for item in error.errors:
                loc = tuple(item["loc"])
                if loc[:2] == ("body", param):
                    item["loc"] = ("body", *loc[2:]) if len(loc) > 2 else ("body",)
        return error


api = RapportAPI(
    title="Rapport API",
    version="1",
    urls_namespace="api",
    description=(
        "Contacts, companies and their timeline. Authenticate with `Authorization: Bearer rpt_...` "
        "(create a token under Settings → API tokens or with `rapport create_token USERNAME`). "
        "Lists use cursor pagination: pass `next_cursor` back as `cursor`."
    ),
    auth=[PersonalToken(), BrowserSession()],
)
api.add_router("/", people_router)
api.add_router("/", timeline_router)
api.add_router("/", sales_router)
api.add_router("/", reports_router)
api.add_router("/", leads_router)
api.add_router("/", assistant_router)


def _location(request) -> str:
    # Reads carry their input in the query string, writes in the body.
    return "query" if request.method in ("GET", "HEAD") else "body"


def field_errors(request, errors: dict[str, str]) -> list[dict]:
    where = _location(request)
    return [
        {"loc": [where, *field.split(".")], "msg": reason, "type": "value_error"}
        for field, reason in errors.items()
    ]


@api.exception_handler(ValidationFailed)
def validation_failed(request, exc: ValidationFailed):
    return api.create_response(request, {"detail": field_errors(request, exc.errors)}, status=422)


@api.exception_handler(SchemaValidationError)
def schema_validation_failed(request, exc: SchemaValidationError):
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors]
    return api.create_response(request, {"detail": errors}, status=422)


@api.exception_handler(DjangoValidationError)
def unreadable_value(request, exc: DjangoValidationError):
    # A cursor that decodes but holds a value of the wrong type reaches the database layer as
    # an unparsable lookup value; it is still the client's bad input, not a server fault.
    if request.GET.get("cursor"):
        detail = field_errors(request, {"cursor": "this page link is damaged; start again from the first page"})
        return api.create_response(request, {"detail": detail}, status=422)
    raise exc


@api.exception_handler(RequestDataTooBig)
def body_too_large(request, exc: RequestDataTooBig):
    # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE before reading it; unhandled, the
    # client got Django's HTML "Bad Request" page with no reason.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api.create_response(
        request, {"detail": f"the request body is larger than {limit:,} bytes: send less at a time"}, status=413
    )


@api.exception_handler(NotVisible)
def not_visible(request, exc: NotVisible):
    return api.create_response(request, {"detail": "Not found"}, status=404)


@api.exception_handler(NotAllowed)
def not_allowed(request, exc: NotAllowed):
    return api.create_response(request, {"detail": str(exc) or "Not allowed"}, status=403)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc: AuthenticationError):
    response = api.create_response(
        request, {"detail": "Authentication required: send Authorization: Bearer <token>"}, status=401
    )
    response["WWW-Authenticate"] = 'Bearer realm="rapport"'
    return response
