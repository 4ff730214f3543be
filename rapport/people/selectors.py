"""Reads of contacts and companies, always narrowed to what the acting user may see."""

from __future__ import annotations

import math
import re
from typing import Any

from django.db.models import CharField, F, Func, Max, Q, QuerySet, Sum
from django.db.models.lookups import GreaterThanOrEqual, LessThan

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import profile_of, visibility_of, visible_to

from .models import Company, Contact, CustomField, CustomFieldType, LifecycleStage, Tag
from .normalize import InvalidValue, normalize_phone, prefix_range

CONTACT_SORTS = {"-created": "-id", "created": "id", "name": "name_key", "-name": "-name_key",
                 "-updated": "-updated_at", "updated": "updated_at",
                 "-value": "-score_value", "value": "score_value"}  # lifetime value (reports' scores)
COMPANY_SORTS = {"-created": "-id", "created": "id", "name": "name_key", "-name": "-name_key",
                 "-updated": "-updated_at", "updated": "updated_at"}
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{5,}$")


def contact_queryset(user) -> QuerySet[Contact]:
    """Live (not trashed) contacts the user may see."""
    return visible_to(Contact.objects.filter(deleted_at__isnull=True), user)


def company_queryset(user) -> QuerySet[Company]:
    return visible_to(Company.objects.filter(deleted_at__isnull=True), user)


def trashed_contacts(user) -> QuerySet[Contact]:
    return visible_to(Contact.objects.filter(deleted_at__isnull=False), user).order_by("-deleted_at")


def trashed_companies(user) -> QuerySet[Company]:
    return visible_to(Company.objects.filter(deleted_at__isnull=False), user).order_by("-deleted_at")


def get_contact(user, contact_id: int) -> Contact:
    """The contact, or NotVisible whether it is missing or hidden from this user (both are 404)."""
    contact = contact_queryset(user).select_related("company", "owner", "team").filter(pk=contact_id).first()
    if contact is None:
        raise NotVisible(f"contact {contact_id}")
    return contact


def contact_for_update(user, contact_id: int) -> Contact:
    contact = contact_queryset(user).select_for_update().filter(pk=contact_id).first()
    if contact is None:
        raise NotVisible(f"contact {contact_id}")
    return contact


def get_company(user, company_id: int) -> Company:
    company = company_queryset(user).select_related("owner", "team").filter(pk=company_id).first()
    if company is None:
        raise NotVisible(f"company {company_id}")
    return company


def company_for_update(user, company_id: int) -> Company:
    company = company_queryset(user).select_for_update().filter(pk=company_id).first()
    if company is None:
        raise NotVisible(f"company {company_id}")
    return company


def _for_pages(queryset: QuerySet, user) -> QuerySet:
    """`visible_to` in the shape that keeps one page of an ordered list cheap.

    For team scope the rule is "team OR own". Given both indexes, SQLite answers that OR by
    collecting every row of the team and sorting them all to return fifty. Comparing
    `team_id + 0` instead hides the team index from the planner, so it walks the index that
    matches the page's order (or the filter's) and stops after one page. Same rule, same rows.
    """
    return visible_to(queryset.alias(page_team_id=F("team_id") + 0), user, team_field="page_team")


def _search_keys(q: str, *, region: str | None = None) -> list[tuple[str, str, str]]:
    """The (column, low, high) prefix ranges a search box text matches, most telling first."""
    text = q.strip().lower()
    if "@" in text:
        low, high = prefix_range(text)
        return [("email", low, high)]
    if PHONE_LIKE.match(text) and sum(c.isdigit() for c in text) >= 5:
        try:
            phone = normalize_phone(text, region)
        except InvalidValue:
            phone = "+" + re.sub(r"\D", "", text)
        low, high = prefix_range(phone)
        return [("phone", low, high)]
    low, high = prefix_range(text)
    return [("name_key", low, high), ("last_name_key", low, high), ("email", low, high)]


# Share of recent contacts a search must match to be read by walking the list (see _search_q).
DENSE_SEARCH_SHARE = 0.04
# 2,000 rows tell a share of 0.7% (14 of them) well enough: near that share both shapes cost the
# same, and reading 5,000 cost four times as much (5 ms against 1.2).
SEARCH_PROBE_ROWS = 2000
SEARCH_PAGE_ROWS = 51


def _probe_rows(user) -> QuerySet[Contact]:
    """The rows a user's list walks, in a shape one index answers in id order.

    The probe must look where the walk will: a prefix common in the whole table can be absent
    from a seller's team, and walking the team for it would read every one of its rows.
    (Team scope also shows the user's own records in other teams; they are few.)
    """
    scope = visibility_of(user) if user is not None else "all"
    if scope == "team" and profile_of(user).team_id is not None:
        return Contact.objects.filter(team_id=profile_of(user).team_id)
    if scope in ("team", "own"):
        return Contact.objects.filter(owner_id=user.pk)
    return Contact.objects.all()


def _search_q(q: str, *, region: str | None = None, user=None, paged: bool = False) -> Q:
    """Contacts matching the search box text, in the shape that reads the fewest rows.

    A rare prefix ("james.smiths") is cheapest as three index searches whose ids are combined:
    the cost is the number of matches. A common one ("mar": Martin, Martínez, Mary, …) matches
    so many rows that gathering them all costs more than walking the list's own order and
    checking each row, which finds a page (or the capped count) after a few thousand rows.
    A count over the most recent contacts tells which case this is, even for one or two letters:
    "du" is common in the whole table but absent from the Americas team, and walking the list
    for it would read the whole team.

    `paged`: for one page of the list, a common prefix is compared in a form no index answers,
    so the page walks its order as decided here. Left to itself, SQLite sometimes gathers and
    sorts every match instead (a second for "mar"), depending on sampled statistics alone.
    """
    keys = _search_keys(q, region=region)
    ranges = [Q(**{f"{column}__gte": low, f"{column}__lt": high}) for column, low, high in keys]
    if len(ranges) == 1:
        return ranges[0]
    any_range = ranges[0] | ranges[1] | ranges[2]
    gathered = _gathered(q.strip().lower(), ranges, any_range, user)
    if gathered is not None:
        return gathered
    if not paged:
        return any_range
    walked = [Q(GreaterThanOrEqual(_Unindexed(column), low), LessThan(_Unindexed(column), high))
              for column, low, high in keys]
    return walked[0] | walked[1] | walked[2]


def _gathered(text: str, ranges: list[Q], any_range: Q, user) -> Q | None:
    """The gathering shape of a search, or None when its prefix is common enough to walk.

    Remembered on the user object for the request: the list page asks for its page and then its
    count, and both take the same shape. (A stale answer would cost time, never change rows.)
    """
    remembered = getattr(user, "_rapport_searches", None) if user is not None else None
    if remembered is not None and text in remembered:
        return remembered[text]
    gathered = None
    if not _is_common(any_range, user):
        arms = _search_arms(ranges, any_range, user)
        gathered = Q(pk__in=arms[0].union(*arms[1:], all=True))
    if user is not None:
        if remembered is None:
            remembered = user._rapport_searches = {}
        remembered[text] = gathered
    return gathered


def _is_common(any_range: Q, user) -> bool:
    """Whether so many of the user's recent contacts match that walking the list beats gathering."""
    recent = _probe_rows(user).order_by("-id").values("id")[:SEARCH_PROBE_ROWS]
    sample = Contact.objects.filter(pk__in=recent).filter(any_range).count()
    # Walking the list reads about page/share rows; gathering every match reads share*N rows.
    # Walking wins once share > sqrt(page/N): about 0.7% of a million contacts.
    table_size = Contact.objects.aggregate(n=Max("id"))["n"] or 1
    threshold = min(DENSE_SEARCH_SHARE, math.sqrt(SEARCH_PAGE_ROWS / table_size))
    return sample >= threshold * SEARCH_PROBE_ROWS


class _Unindexed(Func):
    """A text column's value as an expression no index answers (`name_key || ''`)."""

    template = "(%(expressions)s || '')"
    output_field = CharField()


def _search_arms(ranges: list[Q], any_range: Q, user) -> list[QuerySet]:
    """Id queries, each answered from one index alone, whose union holds every match the user may see.

    The union may hold rows the list drops (trashed ones; others' records for a user who sees
    only their own): the list's own filters still apply. What it must not do for a team member is
    read every match in the table: a prefix common elsewhere ("sch" in Europe) but rare in the
    team costs tens of thousands of row reads that way. So it reads each key within the team
    (the (team, key) indexes) and adds the user's own records that sit in other teams, found
    through (owner, team) without reading the rest of their records.
    """
    scope = visibility_of(user) if user is not None else "all"
    team_id = profile_of(user).team_id if scope == "team" else None
    if team_id is None:
        return [Contact.objects.filter(r).values("id") for r in ranges]
    mine_elsewhere = [Contact.objects.filter(owner_id=user.pk, **where).values("id")
                      for where in ({"team_id__lt": team_id}, {"team_id__gt": team_id}, {"team_id__isnull": True})]
    return [*(Contact.objects.filter(r, team_id=team_id).values("id") for r in ranges),
            Contact.objects.filter(any_range, pk__in=mine_elsewhere[0].union(*mine_elsewhere[1:], all=True))
            .values("id")]


def _company_search_q(q: str) -> Q:
    text = q.strip().lower()
    domain = re.sub(r"^(https?://)?(www\.)?", "", text).split("/")[0]
    low, high = prefix_range(text)
    dlow, dhigh = prefix_range(domain)
    return Q(name_key__gte=low, name_key__lt=high) | Q(domain__gte=dlow, domain__lt=dhigh)


def custom_filters(entity: str, params: dict[str, Any]) -> dict[str, Any]:
    """Filters on custom fields from `cf_<key>` parameters, typed by the field's definition."""
    lookups: dict[str, Any] = {}
    fields = {f.key: f for f in CustomField.objects.filter(entity=entity)}
    for name, raw in params.items():
        if not name.startswith("cf_") or raw in (None, ""):
            continue
        key = name[3:]
        field = fields.get(key)
        if field is None:
            raise ValidationFailed({name: f"'{key}' is not a custom field"})
        value: Any = raw
        if field.field_type == CustomFieldType.BOOLEAN:
            value = str(raw).lower() in {"1", "true", "yes", "on"}
        elif field.field_type == CustomFieldType.NUMBER:
            try:
                value = float(raw)
                value = int(value) if value.is_integer() else value
            except ValueError as exc:
                raise ValidationFailed({name: "must be a number"}) from exc
        lookups[f"custom__{key}"] = value
    return lookups


def filter_contacts(user, params: dict[str, Any]) -> QuerySet[Contact]:
    """Contacts the user may see, narrowed by the list's filters (q, stage, owner, tag, company, cf_*)."""
    return _filtered_contacts(contact_queryset(user), user, params)


def _filtered_contacts(qs: QuerySet[Contact], user, params: dict[str, Any], *,
                       paged: bool = False) -> QuerySet[Contact]:
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(_search_q(q, user=user, paged=paged))
    stage = params.get("stage")
    if stage:
        if stage not in LifecycleStage.values:
            raise ValidationFailed({"stage": f"choose one of: {', '.join(LifecycleStage.values)}"})
        qs = qs.filter(lifecycle_stage=stage)
    owner = params.get("owner")
    if owner:
        if owner == "me":
            owner = user.pk
        try:
            qs = qs.filter(owner_id=int(owner))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed({"owner": "must be a user id or 'me'"}) from exc
    tag = (params.get("tag") or "").strip().lower()
    if tag:
        # A subquery, not a join: no duplicate rows, and the list's order index still leads.
        qs = qs.filter(pk__in=Contact.tags.through.objects.filter(tag__name=tag).values("contact_id"))
    company = params.get("company")
    if company:
        try:
            qs = qs.filter(company_id=int(company))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed({"company": "must be a company id"}) from exc
    lookups = custom_filters("contact", params)
    if lookups:
        qs = qs.filter(**lookups)
    if params.get("health") or params.get("alive") or params.get("sort") in ("value", "-value"):
        from rapport.reports.selectors.scores import narrow_contacts

        qs = narrow_contacts(qs, params)
    return qs


def list_contacts(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    sort = params.get("sort") or "-created"
    if sort not in CONTACT_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(CONTACT_SORTS)}"})
    base = _for_pages(Contact.objects.filter(deleted_at__isnull=True), user)
    qs = _filtered_contacts(base, user, params, paged=True).select_related("company", "owner", "score")
    if sort in ("value", "-value"):
        from rapport.reports.selectors.scores import by_value

        qs = by_value(qs)
    return keyset_page(qs, order=CONTACT_SORTS[sort], cursor=cursor, size=size)


def filter_companies(user, params: dict[str, Any]) -> QuerySet[Company]:
    return _filtered_companies(company_queryset(user), user, params)


def _filtered_companies(qs: QuerySet[Company], user, params: dict[str, Any]) -> QuerySet[Company]:
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(_company_search_q(q))
    owner = params.get("owner")
    if owner:
        if owner == "me":
            owner = user.pk
        try:
            qs = qs.filter(owner_id=int(owner))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed({"owner": "must be a user id or 'me'"}) from exc
    for field in ("industry", "country", "size_band"):
        if params.get(field):
            qs = qs.filter(**{field: params[field]})
    lookups = custom_filters("company", params)
    if lookups:
        qs = qs.filter(**lookups)
    return qs


def list_companies(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    sort = params.get("sort") or "-created"
    if sort not in COMPANY_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(COMPANY_SORTS)}"})
    base = _for_pages(Company.objects.filter(deleted_at__isnull=True), user)
    qs = _filtered_companies(base, user, params).select_related("owner")
    return keyset_page(qs, order=COMPANY_SORTS[sort], cursor=cursor, size=size)


def search_everything(user, q: str, *, limit: int = 8) -> dict[str, list]:
    """The global search box: contacts and companies by name, e-mail, phone or domain."""
    q = (q or "").strip()
    if len(q) < 2:
        return {"contacts": [], "companies": []}
    return {"contacts": _ranked_contacts(user, q, limit), "companies": search_companies(user, q, limit=limit)}


def _ranked(base: QuerySet, keys: list[tuple[str, str, str]], limit: int) -> list:
    """Matches by the first key (in that key's order), then by the next, without repeats.

    Each range reads its own index in order and stops at `limit`, so the box answers as fast for
    a million records as for a hundred; at most one query per key.
    """
    found: dict[int, Any] = {}
    for column, low, high in keys:
        if len(found) >= limit:
            break
        rows = base.filter(**{f"{column}__gte": low, f"{column}__lt": high}).exclude(pk__in=list(found))
        for row in rows.order_by(column, "id")[: limit - len(found)]:
            found[row.pk] = row
    return list(found.values())


def _ranked_contacts(user, q: str, limit: int) -> list[Contact]:
    """Contacts whose name starts with q, then whose last name does, then whose e-mail does."""
    base = _for_pages(Contact.objects.filter(deleted_at__isnull=True), user).select_related("company")
    return _ranked(base, _search_keys(q), limit)


def contact_tags(contact: Contact) -> list[str]:
    return list(contact.tags.values_list("name", flat=True))


def all_tags() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def company_contacts(user, company: Company, *, limit: int = 100) -> list[Contact]:
    return list(contact_queryset(user).filter(company=company).order_by("name_key", "id")[:limit])


def minutes_with_contact(contact: Contact) -> int:
    from rapport.timeline.models import Activity

    total = Activity.objects.filter(contact=contact, deleted_at__isnull=True).aggregate(m=Sum("duration_minutes"))
    return int(total["m"] or 0)


def custom_field_definitions(entity: str) -> list[CustomField]:
    return list(CustomField.objects.filter(entity=entity))


def tags_for_contacts(contact_ids: list[int]) -> dict[int, list[str]]:
    """Tag names per contact for one page of a list, in one query."""
    through = Contact.tags.through
    result: dict[int, list[str]] = {}
    for contact_id, name in through.objects.filter(contact_id__in=contact_ids).values_list(
            "contact_id", "tag__name").order_by("tag__name"):
        result.setdefault(contact_id, []).append(name)
    return result


def search_companies(user, q: str, *, limit: int = 10) -> list[Company]:
    """Companies whose name starts with q, then those whose web domain does."""
    text = q.strip().lower()
    if not text:
        return []
    domain = re.sub(r"^(https?://)?(www\.)?", "", text).split("/")[0]
    keys = [("name_key", *prefix_range(text))]
    if domain:
        keys.append(("domain", *prefix_range(domain)))
    base = _for_pages(Company.objects.filter(deleted_at__isnull=True), user)
    return _ranked(base, keys, limit)


def stage_counts(user) -> list[tuple[str, str, int]]:
    """(stage, label, count) of the contacts the user may see, in lifecycle order."""
    from django.db.models import Count

    counts = dict(contact_queryset(user).order_by().values_list("lifecycle_stage").annotate(n=Count("id")))
    return [(s.value, s.label, counts.get(s.value, 0)) for s in LifecycleStage]
