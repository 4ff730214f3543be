"""The customers an orders file names, looked up once each, as the importer may see them."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection

from rapport.core.models import Profile
from rapport.people import selectors as people
from rapport.people.models import Company, Contact

LOOKUP_CHUNK = 900
HIDDEN_CONTACT = "this e-mail address belongs to a contact you cannot see"
MISSING_CONTACT = "no contact has this e-mail address; import or create the contact first"
HIDDEN_COMPANY = "this domain belongs to a company you cannot see"
MISSING_COMPANY = "no company has this web domain; import or create the company first"


class Customers:
    """Contacts by e-mail and companies by domain, through the people selectors: a customer the
    importer may not see is refused (and told apart from one that does not exist)."""

    def __init__(self, actor, column: Callable[[str], str]):
        self.actor = actor
        self.column = column
        self.contacts: dict[str, tuple | str] = {}  # e-mail -> (id, owner id, company id) or reason
        self.companies: dict[str, tuple | str] = {}  # domain -> (id, owner id) or reason
        self.teams: dict[int, int | None] = {}
        self.audit_parts: dict[tuple, tuple[int | None, str]] = {}

    def resolve(self, drafts: list[tuple]) -> None:
        """Look up the customers of these drafted orders not looked up before."""
        emails = {draft[3] for draft in drafts} - {None} - self.contacts.keys()
        domains = {draft[4] for draft in drafts} - {None} - self.companies.keys()
        if emails:
            self._look_up(sorted(emails), self.contacts, people.contact_queryset(self.actor), "email",
                          ("email", "id", "owner_id", "company_id"), Contact, HIDDEN_CONTACT, MISSING_CONTACT)
        if domains:
            # Newest first, so where several companies share a domain the oldest one wins.
            self._look_up(sorted(domains), self.companies, people.company_queryset(self.actor).order_by("-id"),
                          "domain", ("domain", "id", "owner_id"), Company, HIDDEN_COMPANY, MISSING_COMPANY)

    def _look_up(self, keys: list[str], cache: dict, visible, column: str, fields: tuple, model, hidden: str,
                 missing: str) -> None:
        table = connection.ops.quote_name(model._meta.db_table)
        for start in range(0, len(keys), LOOKUP_CHUNK):
            part = keys[start:start + LOOKUP_CHUNK]
            for key, *values in visible.filter(**{f"{column}__in": part}).values_list(*fields):
                cache[key] = tuple(values)
            unknown = [key for key in part if key not in cache]
            if unknown:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT {column} FROM {table} WHERE deleted_at IS NULL AND {column} IN "
                                   f"({', '.join(['%s'] * len(unknown))})", unknown)
                    taken = {row[0] for row in cursor.fetchall()}
                for key in unknown:
                    cache[key] = hidden if key in taken else missing

    def of(self, draft: tuple) -> tuple[int | None, int | None, int | None] | list[str]:
        """(contact id, company id, owner id), or [column, reason] when the customer is not found.
        The company defaults to the contact's; the owner is the contact's, else the company's."""
        email, domain = draft[3], draft[4]
        contact_id = company_id = owner_id = None
        if email is not None:
            found = self.contacts[email]
            if found.__class__ is str:
                return [self.column("contact_email"), found]
            contact_id, owner_id, company_id = found
        if domain is not None:
            found = self.companies[domain]
            if found.__class__ is str:
                return [self.column("company_domain"), found]
            company_id = found[0]
            if email is None:
                owner_id = found[1]
        return contact_id, company_id, owner_id

    def audit_part(self, contact_id, company_id, owner_id) -> tuple[int | None, str]:
        """The owner's team and the audit entry's customer part, the same for every order of one
        customer, so written once."""
        key = (contact_id, company_id, owner_id)
        found = self.audit_parts.get(key)
        if found is None:
            team_id = self.team(owner_id)
            parts = [f', "{name}": [null, {value}]' for name, value in (
                ("contact", contact_id), ("company", company_id), ("owner", owner_id), ("team", team_id))
                if value is not None]
            found = self.audit_parts[key] = (team_id, "".join(parts))
        return found

    def team(self, owner_id: int | None) -> int | None:
        if owner_id is None:
            return None
        team = self.teams.get(owner_id, -1)
        if team == -1:
            team = self.teams[owner_id] = Profile.objects.filter(user_id=owner_id).values_list(
                "team_id", flat=True).first()
        return team
