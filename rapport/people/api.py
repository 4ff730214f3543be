"""HTTP API for contacts and companies. Thin: parse, call a selector or service, shape the reply.

Visibility is the selectors' job: a record the caller may not see answers 404 exactly as a
missing one does. Ownership rules (who may give a record to whom) live in the services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import prefetch_related_objects
from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params

from . import selectors, services
from .models import LifecycleStage

router = Router()

SOURCE = "api"
ERRORS = {401: Problem, 404: Problem, 422: ValidationProblem}
LIST_ERRORS = {401: Problem, 422: ValidationProblem}


def _custom_field_params(request) -> dict[str, str]:
    """`cf_<key>=value` query parameters: custom fields are defined by admins at run time."""
    return {k: v for k, v in request.GET.items() if k.startswith("cf_")}


class Page(Schema):
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


# --- contacts ---------------------------------------------------------------------------------

class ContactFields(InputSchema):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = Field(None, description="Primary e-mail; stored lower-cased, unique among live contacts")
    other_emails: list[str] | None = None
    phone: str | None = Field(None, description="Any common format; stored as E.164 (+14155550123)")
    other_phones: list[str] | None = None
    job_title: str | None = None
    company: int | None = Field(None, description="Company id")
    owner: int | None = Field(None, description="User id; you may only assign users you are allowed to")
    lifecycle_stage: LifecycleStage | None = None
    source: str | None = None
    tags: list[str] | None = Field(None, description="Interest/tag names; replaces the contact's tags")
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = Field(None, description="ISO 3166 alpha-2, e.g. GB")
    time_zone: str | None = Field(None, description="IANA zone, e.g. Europe/London")
    custom: dict[str, Any] | None = Field(None, description="Custom field values by key")


class ContactCreate(ContactFields):
    """A new contact: at least a name or an e-mail address. The owner defaults to you."""


class ContactUpdate(ContactFields):
    """Only the fields sent change; send null to clear a field."""


class ContactOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str | None
    other_emails: list[str]
    phone: str
    other_phones: list[str]
    job_title: str
    company: int | None
    owner: int | None
    team: int | None
    lifecycle_stage: str
    source: str
    tags: list[str]
    street: str
    city: str
    region: str
    postal_code: str
    country: str
    time_zone: str
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_company(obj) -> int | None:
        return obj.company_id

    @staticmethod
    def resolve_owner(obj) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_team(obj) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        # .all() so a list's prefetch answers it; sorted in Python to keep the prefetch cache.
        return sorted(tag.name for tag in obj.tags.all())


class ContactPage(Page):
    items: list[ContactOut]


class ContactFilters(Schema):
    q: str | None = Field(None, description="Name, e-mail or phone prefix")
    stage: str | None = Field(None, description="Lifecycle stage code")
    owner: str | None = Field(None, description="User id, or 'me'")
    tag: str | None = None
    company: int | None = Field(None, description="Company id")
    health: str | None = Field(None, description="Health band of the stored score: healthy, watch or at_risk")
    alive: str | None = Field(None, description="Chance still a customer: likely, uncertain or unlikely")
    sort: str | None = Field(None, description="-created (default), created, name, -name, updated, -updated, "
                                                "-value, value (lifetime value; scored contacts only)")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


@router.get("/contacts", response={200: ContactPage, **LIST_ERRORS}, tags=["contacts"],
            operation_id="list_contacts")
def list_contacts(request, filters: Query[ContactFilters]):
    """Contacts you may see, newest first. Filter custom fields with `cf_<key>=value`."""
    reject_unknown_params(request, ContactFilters, prefix="cf_")
    params = {**filters.model_dump(exclude={"cursor", "limit"}), **_custom_field_params(request)}
    page = selectors.list_contacts(actor_of(request), params, cursor=filters.cursor, size=filters.limit)
    prefetch_related_objects(page.items, "tags")
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/contacts", response={201: ContactOut, **ERRORS}, tags=["contacts"], operation_id="create_contact")
def create_contact(request, payload: ContactCreate):
    contact = services.create_contact(actor=actor_of(request), data=payload.model_dump(mode="json", exclude_unset=True),
                                      source=SOURCE)
    return Status(201, contact)


@router.get("/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, tags=["contacts"],
            operation_id="get_contact")
def get_contact(request, contact_id: int):
    return selectors.get_contact(actor_of(request), contact_id)


@router.patch("/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, tags=["contacts"],
              operation_id="update_contact")
def update_contact(request, contact_id: int, payload: ContactUpdate):
    actor = actor_of(request)
    contact = selectors.get_contact(actor, contact_id)
    return services.update_contact(actor=actor, contact=contact,
                                   data=payload.model_dump(mode="json", exclude_unset=True), source=SOURCE)


@router.delete("/contacts/{contact_id}", response={204: None, **ERRORS}, tags=["contacts"],
               operation_id="delete_contact")
def delete_contact(request, contact_id: int):
    """Moves the contact to the trash (restore it from the trash page)."""
    actor = actor_of(request)
    services.delete_contact(actor=actor, contact=selectors.get_contact(actor, contact_id), source=SOURCE)
    return Status(204, None)


# --- companies --------------------------------------------------------------------------------

class CompanyFields(InputSchema):
    domain: str | None = Field(None, description="Primary web domain, e.g. acme.com")
    other_domains: list[str] | None = None
    industry: str | None = None
    size_band: str | None = Field(None, description="1-9, 10-49, 50-249, 250-999 or 1000+")
    country: str | None = Field(None, description="ISO 3166 alpha-2, e.g. GB")
    owner: int | None = Field(None, description="User id; you may only assign users you are allowed to")
    notes: str | None = None
    custom: dict[str, Any] | None = Field(None, description="Custom field values by key")


class CompanyCreate(CompanyFields):
    name: str


class CompanyUpdate(CompanyFields):
    """Only the fields sent change."""

    name: str | None = None


class CompanyOut(Schema):
    id: int
    name: str
    domain: str
    other_domains: list[str]
    industry: str
    size_band: str
    country: str
    owner: int | None
    team: int | None
    notes: str
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_owner(obj) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_team(obj) -> int | None:
        return obj.team_id


class CompanyPage(Page):
    items: list[CompanyOut]


class CompanyFilters(Schema):
    q: str | None = Field(None, description="Name or domain prefix")
    owner: str | None = Field(None, description="User id, or 'me'")
    industry: str | None = None
    country: str | None = None
    size_band: str | None = None
    sort: str | None = Field(None, description="-created (default), created, name, -name, updated, -updated")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


@router.get("/companies", response={200: CompanyPage, **LIST_ERRORS}, tags=["companies"],
            operation_id="list_companies")
def list_companies(request, filters: Query[CompanyFilters]):
    """Companies you may see, newest first. Filter custom fields with `cf_<key>=value`."""
    reject_unknown_params(request, CompanyFilters, prefix="cf_")
    params = {**filters.model_dump(exclude={"cursor", "limit"}), **_custom_field_params(request)}
    page = selectors.list_companies(actor_of(request), params, cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/companies", response={201: CompanyOut, **ERRORS}, tags=["companies"], operation_id="create_company")
def create_company(request, payload: CompanyCreate):
    company = services.create_company(actor=actor_of(request), data=payload.model_dump(mode="json", exclude_unset=True),
                                      source=SOURCE)
    return Status(201, company)


@router.get("/companies/{company_id}", response={200: CompanyOut, **ERRORS}, tags=["companies"],
            operation_id="get_company")
def get_company(request, company_id: int):
    return selectors.get_company(actor_of(request), company_id)


@router.patch("/companies/{company_id}", response={200: CompanyOut, **ERRORS}, tags=["companies"],
              operation_id="update_company")
def update_company(request, company_id: int, payload: CompanyUpdate):
    actor = actor_of(request)
    company = selectors.get_company(actor, company_id)
    return services.update_company(actor=actor, company=company,
                                   data=payload.model_dump(mode="json", exclude_unset=True), source=SOURCE)


@router.delete("/companies/{company_id}", response={204: None, **ERRORS}, tags=["companies"],
               operation_id="delete_company")
def delete_company(request, company_id: int):
    """Moves the company to the trash; its contacts stay."""
    actor = actor_of(request)
    services.delete_company(actor=actor, company=selectors.get_company(actor, company_id), source=SOURCE)
    return Status(204, None)


# --- search -----------------------------------------------------------------------------------

class SearchResults(Schema):
    contacts: list[ContactOut]
    companies: list[CompanyOut]


@router.get("/search", response={200: SearchResults, **LIST_ERRORS}, tags=["search"], operation_id="search")
def search(request, q: str = Query(..., description="At least 2 characters: name, e-mail, phone or domain"),
           limit: int = Query(8, ge=1, le=50)):
    """The global search box: contacts and companies you may see, by name, e-mail, phone or domain."""
    reject_unknown_params(request, names=("q", "limit"))
    found = selectors.search_everything(actor_of(request), q, limit=limit)
    prefetch_related_objects(found["contacts"], "tags")
    return found
