"""Deterministic, realistic demo data, written fast enough for a million contacts.

The same seed (and `now`) gives the same teams, users, companies, contacts and timeline. Rows
are drawn in bulk with NumPy and inserted with `executemany`, one transaction per chunk of
contacts, with ids assigned here: this is a loader of synthetic records, so it bypasses the
services on purpose (one audit entry per contact and company, source "demo", records that).
Every value still takes the stored form the services would give it: normalised lower-case
e-mail addresses, E.164 phone numbers, name keys, event summaries.

Ids are contiguous per table, so `DemoDataset.id_ranges` names exactly what a load wrote and
`reset_demo` removes it and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from rapport.core.bulk_load import drop_secondary_indexes, restore_indexes, restore_pending_indexes
from rapport.core.models import AuditEntry, Profile, Team
from rapport.people.models import Company, Contact, CustomField, LifecycleStage, Tag
from rapport.timeline.models import Activity, Event

from . import vocabulary as V
from .leads import load_leads, reset_leads, train_and_score
from .meetings import load_meetings, reset_meetings
from .models import DemoDataset
from .sales import load_sales, reset_sales
from .tasks import load_tasks, reset_tasks

DEMO_PASSWORD = "rapport-demo"
CHUNK = 10_000
DAY = 86_400
STAGE_LABEL = {s.value: s.label for s in LifecycleStage}
# The funnel a contact walks through; advocates and former customers step off after customer.
FUNNEL = ["subscriber", "lead", "marketing_qualified", "sales_qualified", "opportunity", "customer"]
FUNNEL_POSITION = {s: i for i, s in enumerate(FUNNEL)} | {"advocate": 6, "former_customer": 6}

# Event kinds drawn for a contact's history, and their weights before and after sales qualifies.
DRAWN_KINDS = ["page_view", "campaign_open", "campaign_click", "form", "email", "note", "call", "meeting"]
MARKETING_MIX = [35, 25, 10, 8, 10, 4, 5, 3]
SALES_MIX = [15, 12, 5, 3, 25, 12, 17, 11]
ACTIVITY_KINDS = {"email", "note", "call", "meeting"}
CALL_OUTCOMES = [("connected", 62), ("voicemail", 20), ("no_answer", 15), ("wrong_number", 3)]
PREFERRED_CHANNELS = ["email", "phone", "meeting", "chat"]


class DemoAlreadyLoaded(Exception):
    pass


@dataclass
class DemoSummary:
    users: list[str]
    teams: list[str]
    companies: int = 0
    contacts: int = 0
    activities: int = 0
    events: int = 0
    audit_entries: int = 0
    seconds: float = 0.0
    busy_contact_ids: list[int] = field(default_factory=list)
    sales: dict[str, int] = field(default_factory=dict)  # counts of the sales rows (rapport.demo.sales)
    leads: dict = field(default_factory=dict)  # counts of the leads and the model trained on them (rapport.demo.leads)
    meetings: dict = field(default_factory=dict)  # counts of meetings, attendees, templates (rapport.demo.meetings)
    tasks: dict = field(default_factory=dict)  # counts of tasks and enrolments (rapport.demo.tasks)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per part of the load, for the benchmark

    @property
    def rows(self) -> int:
        return (self.companies + self.contacts + self.activities + self.events + self.audit_entries
                + self.sales.get("rows", 0))


def has_demo() -> bool:
    return DemoDataset.objects.exists()


# --- small helpers ----------------------------------------------------------------------------

def _weights(pairs: Sequence[tuple[str, float]]) -> tuple[list[str], np.ndarray]:
    names = [p[0] for p in pairs]
    w = np.array([p[1] for p in pairs], dtype=float)
    return names, w / w.sum()


def _zipf(n: int, s: float = 0.9) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _ascii(text: str) -> str:
    """A name as e-mail addresses write it: accents dropped, only letters kept."""
    text = text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _fill(pattern: str, digits: np.ndarray) -> str:
    """Replace '#' by a digit, 'N' by 2-9, 'M' by 6-9 and 'L' by 1-5 (valid number ranges)."""
    out = []
    digit_iter = iter(digits.tolist())
    for ch in pattern:
        d = next(digit_iter) if ch in "#NML" else 0
        if ch == "#":
            out.append(str(d))
        elif ch == "N":
            out.append(str(2 + d % 8))
        elif ch == "M":
            out.append(str(6 + d % 4))
        elif ch == "L":
            out.append(str(1 + d % 5))
        else:
            out.append(ch)
    return "".join(out)


class _Writer:
    """Inserts rows into a model's table, filling columns the generator does not set with the
    field's default, so a field added to a model later does not break the loader."""

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.table = connection.ops.quote_name(model._meta.db_table)
        self.fields = [f for f in model._meta.concrete_fields]

    def insert(self, columns: dict[str, Sequence]) -> int:
        names = list(columns)
        values: list = [columns[n] for n in names]
        for f in self.fields:
            if f.column in columns or f.primary_key:
                continue
            if f.null and not f.has_default():
                continue
            default = f.get_default()
            names.append(f.column)
            values.append(repeat(f.get_db_prep_save(default, connection)))
        n = len(columns[names[0]])
        if n == 0:
            return 0
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            self.table, ", ".join(connection.ops.quote_name(c) for c in names), ", ".join(["%s"] * len(names)))
        rows = list(zip(*values))  # noqa: B905 - the repeat() columns are endless on purpose
        if len(rows) != n:
            raise ValueError(f"{self.model.__name__}: columns of different lengths")
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        return n


def _next_id(model: type[models.Model]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(model._meta.db_table)}")
        (value,) = cursor.fetchone()
    return int(value or 0) + 1


class _Clock:
    """Turns epoch seconds into the values the database driver stores for a DateTimeField."""

    def __init__(self):
        self.sqlite = connection.vendor == "sqlite"

    def __call__(self, seconds: np.ndarray) -> list:
        seconds = np.asarray(seconds, dtype="int64")
        if self.sqlite:
            # Django stores SQLite datetimes as naive UTC text "YYYY-MM-DD HH:MM:SS"; the same
            # format keeps text comparisons (keyset cursors) consistent with rows the app writes.
            text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
            return [t.replace("T", " ") for t in text.tolist()]
        return [dt.datetime.fromtimestamp(s, dt.UTC) for s in seconds.tolist()]


# --- the generator ----------------------------------------------------------------------------

class _Demo:
    def __init__(self, *, total: int, seed: int, events_per_contact: float, now: dt.datetime):
        self.total = total
        self.rng = np.random.default_rng(seed)
        self.now = int(now.timestamp())
        self.events_per_contact = events_per_contact
        self.clock = _Clock()
        self.country_codes = list(V.PHONES)
        self.team_share = np.array([t[1] for t in V.TEAMS])
        self.team_share /= self.team_share.sum()
        # per team: probability over all countries (zero outside the team's region)
        self.team_country = np.zeros((len(V.TEAMS), len(self.country_codes)))
        for t, (_, _, countries) in enumerate(V.TEAMS):
            for code, w in countries:
                self.team_country[t, self.country_codes.index(code)] = w
            self.team_country[t] /= self.team_country[t].sum()
        self.stages, self.stage_p = _weights(V.STAGES)
        self.sources, self.source_p = _weights(V.SOURCES)
        self.bands, self.band_p = _weights(V.SIZE_BANDS)
        self.outcomes, self.outcome_p = _weights(CALL_OUTCOMES)
        self.industries = list(V.INDUSTRIES)
        self.ascii_cache: dict[str, str] = {}
        self.used_emails: set[str] = set()
        self.used_domains: set[str] = set()
        self.mix = np.array([MARKETING_MIX, SALES_MIX], dtype=float)
        self.mix /= self.mix.sum(axis=1, keepdims=True)
        n_busy = max(1, total // 20_000)
        self.busy = set(self.rng.choice(total, size=min(n_busy, total), replace=False).tolist())
        random_mean = max(0.5, events_per_contact - 3.0)  # the rest: creation and stage changes
        self.lognormal_mu = float(np.log(random_mean + 0.5) - 0.5)

    # users, teams, tags and custom fields: few rows, made through the ORM
    def setup(self, created: dict) -> tuple[list[str], list[str]]:
        teams = []
        for name, _, _ in V.TEAMS:
            team, was_created = Team.objects.get_or_create(name=name)
            if was_created:
                created.setdefault("teams", []).append(team.pk)
            teams.append(team)
        User = get_user_model()
        password = make_password(DEMO_PASSWORD)  # hashed once: Argon2 is slow on purpose
        self.users: dict[str, models.Model] = {}
        for username, first, last, role, team_index in V.USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, first_name=first, last_name=last,
                            email=f"{username}@rapport.example", password=password)
                user.save()
                Profile.objects.filter(user=user).update(
                    role=role, team=teams[team_index] if team_index is not None else None)
                created.setdefault("users", []).append(user.pk)
            self.users[username] = user
        team_of = {u: V.USERS[i][4] for i, u in enumerate(self.users)}
        sellers = [[self.users[u].pk for u, t in team_of.items() if t == i and u.endswith(".seller")]
                   for i in range(len(teams))]
        width = max(len(s) for s in sellers)
        self.sellers_per_team = np.array([len(s) for s in sellers])
        self.seller_matrix = np.array([s + [s[0]] * (width - len(s)) for s in sellers])
        self.team_ids = np.array([t.pk for t in teams])
        for key, entity, label, kind, choices in (
            ("preferred_channel", "contact", "Preferred channel", "choice", PREFERRED_CHANNELS),
            ("annual_revenue", "company", "Annual revenue", "number", []),
        ):
            cf, was_created = CustomField.objects.get_or_create(
                entity=entity, key=key, defaults={"label": label, "field_type": kind, "choices": choices})
            if was_created:
                created.setdefault("custom_fields", []).append(cf.pk)
        tag_ids = []
        for name in V.TAGS:
            tag, was_created = Tag.objects.get_or_create(name=name)
            if was_created:
                created.setdefault("tags", []).append(tag.pk)
            tag_ids.append(tag.pk)
        self.tag_ids = np.array(tag_ids)
        self.used_emails = set(Contact.objects.filter(deleted_at__isnull=True, email__isnull=False)
                               .values_list("email", flat=True))
        return list(self.users), [t.name for t in teams]

    def _ascii(self, name: str) -> str:
        value = self.ascii_cache.get(name)
        if value is None:
            value = self.ascii_cache[name] = _ascii(name)
        return value

    def _pick_rows(self, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """One category per item, each item drawing from the probability row `rows[i]`."""
        cum = np.cumsum(probs, axis=1)
        u = self.rng.random(len(rows))
        return np.minimum((u[:, None] > cum[rows]).sum(axis=1), probs.shape[1] - 1)

    def _seller(self, team: np.ndarray) -> np.ndarray:
        k = (self.rng.random(len(team)) * self.sellers_per_team[team]).astype(int)
        return self.seller_matrix[team, k]

    def _domain(self, stem: str, tld: str) -> str:
        domain = stem + tld
        n = 2
        while domain in self.used_domains:
            domain, n = f"{stem}{n}{tld}", n + 1
        self.used_domains.add(domain)
        return domain

    def _email(self, first: str, last: str, domain: str, style: int) -> str:
        f, last_ascii = self._ascii(first) or "contact", self._ascii(last) or "person"
        local = (f"{f}.{last_ascii}", f"{f[0]}{last_ascii}", f"{f}_{last_ascii}", f"{f}{last_ascii[0]}")[style]
        email = f"{local}@{domain}"
        n = 2
        while email in self.used_emails:
            email, n = f"{local}{n}@{domain}", n + 1
        self.used_emails.add(email)
        return email

    # one chunk of companies, contacts and their timelines ------------------------------------
    def chunk(self, start_index: int, n: int, ids: dict[str, int]) -> dict[str, dict[str, Sequence]]:
        rng = self.rng
        now = self.now

        # companies of this chunk; contacts only join companies of their own chunk, so index
        # inserts stay close together even for ten million events
        m = max(1, round(n / 8))
        c_team = rng.choice(len(self.team_ids), size=m, p=self.team_share)
        c_country = self._pick_rows(self.team_country, c_team)
        c_owner = self._seller(c_team)
        c_industry = rng.integers(0, len(self.industries), m)
        c_first = rng.integers(0, len(V.COMPANY_FIRST), m)
        c_second = rng.integers(0, len(V.COMPANY_SECOND), m)
        c_noun = rng.integers(0, 100, m)
        c_suffix = rng.integers(0, 100, m)
        c_band = rng.choice(len(self.bands), size=m, p=self.band_p)
        c_has_revenue = rng.random(m) < 0.5
        c_revenue = np.round(np.exp(rng.normal(13.0 + 1.1 * c_band, 0.6)), -3).astype(np.int64)
        company_ids = ids["company"] + np.arange(m)
        c_names, c_keys, c_domains, c_custom = [], [], [], []
        for i in range(m):
            country = self.country_codes[c_country[i]]
            industry = self.industries[c_industry[i]]
            nouns = V.INDUSTRIES[industry]
            suffixes = V.LEGAL_SUFFIX[country]
            brand = V.COMPANY_FIRST[c_first[i]] + V.COMPANY_SECOND[c_second[i]]
            noun = nouns[c_noun[i] % len(nouns)]
            name = f"{brand} {noun} {suffixes[c_suffix[i] % len(suffixes)]}"
            c_names.append(name)
            c_keys.append(name.lower())
            c_domains.append(self._domain(f"{brand.lower()}{noun.lower()}", V.TLD[country]))
            c_custom.append(f'{{"annual_revenue": {int(c_revenue[i])}}}' if c_has_revenue[i] else "{}")

        # contacts
        index = start_index + np.arange(n)
        busy = np.array([i in self.busy for i in index.tolist()])
        has_company = (rng.random(n) < 0.85) | busy
        company = (rng.random(n) ** 1.6 * m).astype(int)  # a few big accounts, many small ones
        lone_team = rng.choice(len(self.team_ids), size=n, p=self.team_share)
        team = np.where(has_company, c_team[company], lone_team)
        country = np.where(has_company, c_country[company], self._pick_rows(self.team_country, lone_team))
        owner = np.where(has_company, c_owner[company], self._seller(team))
        stage = rng.choice(len(self.stages), size=n, p=self.stage_p)
        stage[busy] = self.stages.index("customer")
        source = rng.choice(len(self.sources), size=n, p=self.source_p)
        first_pick = rng.random(n)
        last_pick = rng.random(n)
        email_style = rng.choice(4, size=n, p=[0.55, 0.2, 0.1, 0.15])
        personal = rng.integers(0, 1000, n)
        has_phone = rng.random(n) < 0.8
        phone_digits = rng.integers(0, 10, (n, 10))
        phone_prefix = rng.integers(0, 1000, n)
        title = rng.integers(0, len(V.JOB_TITLES), n)
        has_title = rng.random(n) < 0.9
        place = rng.integers(0, 1000, n)
        street = rng.integers(0, 1000, n)
        house = rng.integers(1, 240, n)
        postal_digits = rng.integers(0, 10, (n, 8))
        has_address = rng.random(n) < 0.7
        channel = rng.integers(0, len(PREFERRED_CHANNELS), n)
        has_channel = rng.random(n) < 0.4
        start = now - rng.integers(182 * DAY, 730 * DAY, n)  # 6 to 24 months of history

        first_names, last_names, emails, phones, streets, cities, regions, postals, zones, customs = (
            [], [], [], [], [], [], [], [], [], [])
        for i in range(n):
            code = self.country_codes[country[i]]
            lang = V.NAME_LANGUAGE[code]
            firsts, lasts = V.FIRST_NAMES[lang], V.LAST_NAMES[lang]
            # skewed like real lists: the first names of each pool are the commonest (about 3%)
            first = firsts[int(first_pick[i] ** 1.4 * len(firsts))]
            last = lasts[int(last_pick[i] ** 1.3 * len(lasts))]
            first_names.append(first)
            last_names.append(last)
            if has_company[i]:
                domain = c_domains[company[i]]
            else:
                domains = V.PERSONAL_DOMAINS + V.LOCAL_MAIL_DOMAINS.get(code, [])
                domain = domains[personal[i] % len(domains)]
            emails.append(self._email(first, last, domain, email_style[i]))
            if has_phone[i]:
                calling, prefixes, pattern = V.PHONES[code]
                phones.append(calling + prefixes[phone_prefix[i] % len(prefixes)] + _fill(pattern, phone_digits[i]))
            else:
                phones.append("")
            places = V.PLACES[code]
            city, region, zone, postal = places[place[i] % len(places)]
            zones.append(zone)
            if has_address[i]:
                lang_streets = V.STREET_LANGUAGE[code]
                names = V.STREETS[lang_streets]
                street_name = names[street[i] % len(names)]
                streets.append(f"{house[i]} {street_name}" if lang_streets in V.NUMBER_FIRST
                               else f"{street_name} {house[i]}")
                cities.append(city)
                regions.append(region)
                postals.append(_fill(postal, postal_digits[i]))
            else:
                streets.append("")
                cities.append("")
                regions.append("")
                postals.append("")
            customs.append(f'{{"preferred_channel": "{PREFERRED_CHANNELS[channel[i]]}"}}' if has_channel[i] else "{}")
        contact_ids = ids["contact"] + np.arange(n)
        contact_company_id = np.where(has_company, company_ids[company], 0)
        company_start = np.full(m, now - 30 * DAY)
        np.minimum.at(company_start, company[has_company], start[has_company] - DAY)

        # tags: up to three distinct tags per contact
        tag_count = np.minimum(rng.poisson(1.1, n), 3)
        tag_draw = rng.integers(0, len(self.tag_ids), (n, 3))
        t_contact = np.repeat(np.arange(n), 3)[(np.arange(3)[None, :] < tag_count[:, None]).ravel()]
        t_tag = tag_draw[np.arange(3)[None, :] < tag_count[:, None]]
        pairs = np.unique(t_contact * 1000 + t_tag)
        t_contact, t_tag = pairs // 1000, pairs % 1000

        # timeline: creation, stage changes along the funnel, then drawn events
        counts = np.floor(rng.lognormal(self.lognormal_mu, 1.0, n)).astype(int)
        counts = np.minimum(counts, 400)
        counts[busy] = rng.integers(1000, 1600, int(busy.sum()))
        stage_names = np.array(self.stages, dtype=object)[stage]
        position = np.array([FUNNEL_POSITION[s] for s in stage_names.tolist()])
        entry = np.where((position >= 1) & (rng.random(n) < 0.7), 1, 0)
        entry = np.minimum(entry, position)
        changes = position - entry
        sc_contact = np.repeat(np.arange(n), changes)
        group_start = np.repeat(np.cumsum(changes) - changes, changes)
        sc_step = entry[sc_contact] + (np.arange(len(sc_contact)) - group_start)
        # stage changes happen in order, spread over the contact's history
        span = now - start
        sc_time = start[sc_contact] + ((sc_step - entry[sc_contact] + rng.random(len(sc_contact)))
                                       / np.maximum(changes[sc_contact], 1) * span[sc_contact] * 0.9).astype(int)
        sc_summary, sc_payload = [], []
        for contact_i, step in zip(sc_contact.tolist(), sc_step.tolist(), strict=True):
            before = FUNNEL[step]
            after = FUNNEL[step + 1] if step + 1 < len(FUNNEL) else stage_names[contact_i]
            sc_summary.append(f"Stage {STAGE_LABEL[before]} → {STAGE_LABEL[after]}")
            sc_payload.append(f'{{"from": "{before}", "to": "{after}"}}')

        ev_contact = np.repeat(np.arange(n), counts)
        e = len(ev_contact)
        ev_time = start[ev_contact] + (rng.random(e) ** 0.8 * span[ev_contact]).astype(int) + 60
        ev_time = np.minimum(ev_time, now - 60)
        sales = (position >= FUNNEL_POSITION["sales_qualified"]).astype(int)
        ev_kind = self._pick_rows(self.mix, sales[ev_contact])
        kind_names = np.array(DRAWN_KINDS, dtype=object)[ev_kind]
        pick = rng.integers(0, 1 << 30, e)
        minutes_draw = rng.lognormal(2.3, 0.7, e)
        outcome = rng.choice(len(self.outcomes), size=e, p=self.outcome_p)
        inbound = rng.random(e) < 0.4
        colleagues = rng.integers(0, len(V.ATTENDEE_COLLEAGUES), e)

        # all events, sorted by contact then time so ids and index inserts follow each other
        all_contact = np.concatenate([np.arange(n), sc_contact, ev_contact])
        all_time = np.concatenate([start, sc_time, ev_time])
        source_part = np.concatenate([np.zeros(n, int), np.ones(len(sc_contact), int), np.full(e, 2)])
        part_index = np.concatenate([np.arange(n), np.arange(len(sc_contact)), np.arange(e)])
        order = np.lexsort((all_time, all_contact))
        all_contact, all_time = all_contact[order], all_time[order]
        source_part, part_index = source_part[order], part_index[order]
        total_events = len(order)

        ev_kinds, ev_summary, ev_payload, ev_activity = [], [], [], []
        a_rows: dict[str, list] = {k: [] for k in ("id", "kind", "contact", "time", "subject", "body",
                                                     "minutes", "outcome", "direction", "attendees")}
        next_activity = ids["activity"]
        full_names = [f"{f} {la}" for f, la in zip(first_names, last_names, strict=True)]
        # plain lists: indexing NumPy arrays one element at a time is slow
        kind_names, pick, minutes_draw = kind_names.tolist(), pick.tolist(), minutes_draw.tolist()
        outcome, inbound, colleagues = outcome.tolist(), inbound.tolist(), colleagues.tolist()
        for contact_i, part, j in zip(all_contact.tolist(), source_part.tolist(), part_index.tolist(), strict=True):
            if part == 0:
                ev_kinds.append("record")
                ev_summary.append("Contact created")
                ev_payload.append('{"source": "demo"}')
                ev_activity.append(None)
                continue
            if part == 1:
                ev_kinds.append("stage_change")
                ev_summary.append(sc_summary[j])
                ev_payload.append(sc_payload[j])
                ev_activity.append(None)
                continue
            kind = kind_names[j]
            p = pick[j]
            ev_kinds.append(kind)
            if kind not in ACTIVITY_KINDS:
                ev_activity.append(None)
                if kind == "page_view":
                    page = V.PAGES[p % len(V.PAGES)]
                    ev_summary.append(f"Viewed {page}")
                    ev_payload.append(f'{{"url": "{page}"}}')
                elif kind == "form":
                    form = V.FORMS[p % len(V.FORMS)]
                    ev_summary.append(f"Submitted “{form}”")
                    ev_payload.append(f'{{"form": "{form}"}}')
                else:
                    campaign = V.CAMPAIGNS[p % len(V.CAMPAIGNS)]
                    if kind == "campaign_open":
                        ev_summary.append(f"Opened “{campaign}”")
                        ev_payload.append(f'{{"campaign": "{campaign}"}}')
                    else:
                        page = V.PAGES[p % len(V.PAGES)]
                        ev_summary.append(f"Clicked {page} in “{campaign}”")
                        ev_payload.append(f'{{"campaign": "{campaign}", "url": "{page}"}}')
                continue
            subject, body, minutes, call_outcome, direction, attendees = "", "", None, "", "", "[]"
            if kind == "call":
                call_outcome = self.outcomes[outcome[j]]
                minutes = max(1, min(90, int(minutes_draw[j]))) if call_outcome == "connected" else 1
                body = V.CALL_NOTES[p % len(V.CALL_NOTES)] if call_outcome == "connected" else ""
                label = f"Call ({minutes} min)"
                payload = f'{{"minutes": {minutes}, "outcome": "{call_outcome}"}}'
                text = body
            elif kind == "meeting":
                minutes = (30, 45, 60, 60, 90)[p % 5]
                subject = V.MEETING_SUBJECTS[p % len(V.MEETING_SUBJECTS)]
                attendees = json.dumps([full_names[contact_i], V.ATTENDEE_COLLEAGUES[colleagues[j]]],
                                       ensure_ascii=False)
                label = f"Meeting ({minutes} min)"
                payload = f'{{"minutes": {minutes}}}'
                text = subject
            elif kind == "email":
                direction = "inbound" if inbound[j] else "outbound"
                subject = V.EMAIL_SUBJECTS[p % len(V.EMAIL_SUBJECTS)]
                label = "E-mail"
                payload = f'{{"direction": "{direction}"}}'
                text = subject
            else:
                body = V.NOTES[p % len(V.NOTES)]
                label = "Note"
                payload = "{}"
                text = body
            ev_summary.append(f"{label}: {text}" if text else label)
            ev_payload.append(payload)
            ev_activity.append(next_activity)
            a_rows["id"].append(next_activity)
            a_rows["kind"].append(kind)
            a_rows["contact"].append(contact_i)
            a_rows["subject"].append(subject)
            a_rows["body"].append(body)
            a_rows["minutes"].append(minutes)
            a_rows["outcome"].append(call_outcome)
            a_rows["direction"].append(direction)
            a_rows["attendees"].append(attendees)
            next_activity += 1
        activity_mask = np.array([a is not None for a in ev_activity], dtype=bool)
        a_time = all_time[activity_mask]
        a_contact = np.array(a_rows["contact"], dtype=int)

        # company creation events come after the contacts' events
        times = self.clock
        last_seen = np.copy(start)
        np.maximum.at(last_seen, all_contact, all_time)
        company_null = [None] * m
        event_company = np.where(has_company, contact_company_id, 0)
        events_company = [int(c) or None for c in event_company[all_contact].tolist()] + company_ids.tolist()
        event_contact_ids = contact_ids[all_contact].tolist() + company_null
        event_actor = owner[all_contact].tolist()
        event_actor = [a if k not in ("page_view", "form", "campaign_open", "campaign_click") else None
                       for a, k in zip(event_actor, ev_kinds, strict=True)] + c_owner.tolist()
        n_events = total_events + m
        contact_owner = owner.tolist()
        contact_team = self.team_ids[team].tolist()
        return {
            "company": {
                "id": company_ids.tolist(), "created_at": times(company_start), "updated_at": times(company_start),
                "created_by_id": c_owner.tolist(), "deleted_at": [None] * m, "name": c_names, "name_key": c_keys,
                "domain": c_domains, "other_domains": ["[]"] * m,
                "industry": [self.industries[i] for i in c_industry.tolist()],
                "size_band": [self.bands[b] for b in c_band.tolist()],
                "country": [self.country_codes[c] for c in c_country.tolist()],
                "owner_id": c_owner.tolist(), "team_id": self.team_ids[c_team].tolist(), "notes": [""] * m,
                "custom": c_custom,
            },
            "contact": {
                "id": contact_ids.tolist(), "created_at": times(start), "updated_at": times(last_seen),
                "created_by_id": contact_owner, "deleted_at": [None] * n,
                "first_name": first_names, "last_name": last_names,
                "name_key": [f"{f} {la}".strip().lower()[:201] for f, la in zip(first_names, last_names,
                                                                                strict=True)],
                "last_name_key": [la.lower() for la in last_names], "email": emails, "other_emails": ["[]"] * n,
                "phone": phones, "other_phones": ["[]"] * n,
                "job_title": [V.JOB_TITLES[t] if h else "" for t, h in zip(title.tolist(), has_title.tolist(),
                                                                          strict=True)],
                "company_id": [int(c) or None for c in contact_company_id.tolist()],
                "owner_id": contact_owner, "team_id": contact_team,
                "lifecycle_stage": stage_names.tolist(),
                "source": [self.sources[s] for s in source.tolist()],
                "street": streets, "city": cities, "region": regions, "postal_code": postals,
                "country": [self.country_codes[c] for c in country.tolist()], "time_zone": zones,
                "custom": customs,
            },
            "tags": {
                "id": (ids["tags"] + np.arange(len(t_contact))).tolist(),
                "contact_id": contact_ids[t_contact].tolist(), "tag_id": self.tag_ids[t_tag].tolist(),
            },
            "activity": {
                "id": a_rows["id"], "created_at": times(a_time), "updated_at": times(a_time),
                "created_by_id": owner[a_contact].tolist(), "deleted_at": [None] * len(a_contact),
                "kind": a_rows["kind"], "occurred_at": times(a_time), "contact_id": contact_ids[a_contact].tolist(),
                "company_id": [int(c) or None for c in event_company[a_contact].tolist()],
                "owner_id": owner[a_contact].tolist(), "team_id": self.team_ids[team[a_contact]].tolist(),
                "subject": a_rows["subject"], "body": a_rows["body"], "duration_minutes": a_rows["minutes"],
                "outcome": a_rows["outcome"], "direction": a_rows["direction"], "attendees": a_rows["attendees"],
            },
            "event": {
                "id": (ids["event"] + np.arange(n_events)).tolist(), "kind": ev_kinds + ["record"] * m,
                "occurred_at": times(np.concatenate([all_time, company_start])), "actor_id": event_actor,
                "contact_id": event_contact_ids, "company_id": events_company,
                "activity_id": ev_activity + company_null,
                "summary": ev_summary + ["Company created"] * m,
                "payload": ev_payload + ['{"source": "demo"}'] * m,
            },
            "audit": {
                "id": (ids["audit"] + np.arange(m + n)).tolist(),
                "at": times(np.concatenate([company_start, start])),
                "actor_id": c_owner.tolist() + contact_owner,
                "action": ["create"] * (m + n),
                "record_type": ["people.company"] * m + ["people.contact"] * n,
                "record_id": company_ids.tolist() + contact_ids.tolist(),
                "changes": [json.dumps({"name": [None, name], "domain": [None, d]}, ensure_ascii=False)
                            for name, d in zip(c_names, c_domains, strict=True)]
                + [json.dumps({"first_name": [None, f], "last_name": [None, la], "email": [None, em],
                               "lifecycle_stage": [None, s]}, ensure_ascii=False)
                   for f, la, em, s in zip(first_names, last_names, emails, stage_names.tolist(), strict=True)],
                "source": ["demo"] * (m + n),
            },
            "busy": contact_ids[busy].tolist(),
        }


def load_demo(*, contacts: int = 2000, seed: int = 42, events_per_contact: float = 10.0,
              now: dt.datetime | None = None, progress: Callable[[int, int], None] | None = None,
              chunk_size: int = CHUNK) -> DemoSummary:
    """Write a demo dataset. Refuses (DemoAlreadyLoaded) when one is already loaded."""
    if contacts < 1:
        raise ValueError("the demo needs at least one contact")
    restore_pending_indexes()
    if has_demo():
        raise DemoAlreadyLoaded("demo data is already loaded; use --reset to replace it")
    began = time.perf_counter()
    now = now or timezone.now().replace(minute=0, second=0, microsecond=0)
    demo = _Demo(total=contacts, seed=seed, events_per_contact=events_per_contact, now=now)
    created: dict = {}
    with transaction.atomic():
        users, teams = demo.setup(created)
    summary = DemoSummary(users=users, teams=teams)
    tag_through = Contact.tags.through
    writers = {"company": _Writer(Company), "contact": _Writer(Contact), "tags": _Writer(tag_through),
               "activity": _Writer(Activity), "event": _Writer(Event), "audit": _Writer(AuditEntry)}
    models_by_key = {"company": Company, "contact": Contact, "tags": tag_through, "activity": Activity,
                     "event": Event, "audit": AuditEntry}
    ids = {key: _next_id(model) for key, model in models_by_key.items()}
    first_ids = dict(ids)
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size=-524288")  # 512 MB while loading: index inserts stay in memory
            # Checking four foreign keys per event halves the insert rate; the ids written here
            # are consistent by construction (and the tests check that they are).
            cursor.execute("PRAGMA foreign_keys=OFF")
    busy: list[int] = []
    done = 0
    dropped = _drop_indexes(list(models_by_key.values()), contacts) if sqlite else []
    try:
        while done < contacts:
            n = min(chunk_size, contacts - done)
            rows = demo.chunk(done, n, ids)
            with transaction.atomic():
                for key in ("company", "contact", "tags", "activity", "event", "audit"):
                    written = writers[key].insert(rows[key])
                    ids[key] += written
            summary.companies += len(rows["company"]["id"])
            summary.contacts += n
            summary.activities += len(rows["activity"]["id"])
            summary.events += len(rows["event"]["id"])
            summary.audit_entries += len(rows["audit"]["at"])
            busy += rows["busy"]
            done += n
            if progress:
                progress(done, contacts)
        summary.phases["contacts, companies, activities, events"] = time.perf_counter() - began
        sales = load_sales(contacts=(first_ids["contact"], ids["contact"] - 1), ids=ids, seed=seed, now=demo.now,
                           companies=(first_ids["company"], ids["company"] - 1) if ids["company"] > first_ids["company"]
                           else None, created=created, clock=demo.clock)
        summary.activities += sales.activities
        summary.events += sales.events
        summary.audit_entries += sales.audit_entries
        summary.sales = sales.counts
        summary.phases["sales"] = time.perf_counter() - began - sum(summary.phases.values())
        leads = load_leads(contacts=(first_ids["contact"], ids["contact"] - 1), deals=sales.id_ranges.get("deal"),
                           ids=ids, seed=seed, now=demo.now, created=created, clock=demo.clock)
        summary.events += leads.events
        summary.leads = leads.counts
        summary.phases["leads"] = time.perf_counter() - began - sum(summary.phases.values())
    finally:
        if sqlite:
            restore_indexes(dropped)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size=-65536")
                cursor.execute("PRAGMA foreign_keys=ON")
    if not sqlite:
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), list(models_by_key.values())):
                cursor.execute(sql)
    _refresh_statistics()
    summary.phases["indexes and statistics"] = time.perf_counter() - began - sum(summary.phases.values())
    from rapport.demo.sales.targets import make_targets

    sales.counts["targets"] = make_targets(
        now=now, created=created,
        seller_ids=list(Profile.objects.filter(role="seller", user__username__in=summary.users)
                        .values_list("user_id", flat=True)))
    summary.phases["targets"] = time.perf_counter() - began - sum(summary.phases.values())
    summary.leads |= train_and_score(created)
    summary.phases["lead scoring"] = time.perf_counter() - began - sum(summary.phases.values())
    meetings = load_meetings(now=now, seed=seed, created=created, seller_ids=list(
        Profile.objects.filter(role="seller", user__username__in=summary.users).values_list("user_id", flat=True)))
    summary.meetings = meetings.counts
    summary.events += meetings.events
    summary.activities += meetings.activities
    summary.phases["meetings"] = time.perf_counter() - began - sum(summary.phases.values())
    # Last: the follow-up rules run over everything above (meetings, deals, orders, leads).
    tasks = load_tasks(now=now, seed=seed, seller_ids=list(
        Profile.objects.filter(role="seller", user__username__in=summary.users).values_list("user_id", flat=True)))
    summary.tasks = tasks.counts
    summary.phases["tasks and follow-up rules"] = time.perf_counter() - began - sum(summary.phases.values())
    summary.seconds = time.perf_counter() - began
    summary.busy_contact_ids = busy
    DemoDataset.objects.create(
        seed=seed, contacts=contacts, events=summary.events, seconds=summary.seconds,
        id_ranges={key: [first_ids[key], ids[key] - 1] for key in ids if ids[key] > first_ids[key]} | sales.id_ranges
        | leads.id_ranges | meetings.id_ranges | tasks.id_ranges,
        created=created, busy_contact_ids=busy, parameters=sales.parameters,
    )
    return summary


def _drop_indexes(tables: list[type[models.Model]], contacts: int) -> list[str]:
    """SQLite only: drop the indexes of the tables the load fills when the load is big next to
    what is there (see rapport.core.bulk_load). The demo's rows are unique by construction, so
    the unique indexes go too."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(Contact._meta.db_table)}")
        (existing,) = cursor.fetchone()
    if contacts < 20_000 or existing > contacts:
        return []
    return drop_secondary_indexes(tables)


def _refresh_statistics() -> None:
    """Let the query planner know the new table sizes (index choice depends on them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # A sampled ANALYZE: seconds on ten million rows, and enough for the planner.
            cursor.execute("PRAGMA analysis_limit=1000")
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":
            for model in (Company, Contact, Activity, Event, AuditEntry):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def reset_demo() -> int:
    """Remove every record a demo load wrote (and what users attached to demo contacts since).

    Returns the number of datasets removed. Records that existed before the load, and teams,
    users, tags and custom fields that were already there, are left alone.
    """
    restore_pending_indexes()
    removed = 0
    q = connection.ops.quote_name
    tables = {"company": Company, "contact": Contact, "tags": Contact.tags.through, "activity": Activity,
              "event": Event, "audit": AuditEntry}
    for dataset in DemoDataset.objects.order_by("id"):
        ranges = dataset.id_ranges
        contact_range = ranges.get("contact")
        company_range = ranges.get("company")
        with transaction.atomic(), connection.cursor() as cursor:
            reset_tasks(dataset, cursor)
            reset_meetings(dataset, cursor)
            reset_leads(dataset, cursor)
            reset_sales(dataset, cursor)
            def delete(table_key: str, column: str, span) -> None:
                if span:
                    cursor.execute(f"DELETE FROM {q(tables[table_key]._meta.db_table)} "
                                   f"WHERE {q(column)} BETWEEN %s AND %s", span)
            for key in ("event", "activity"):
                delete(key, "id", ranges.get(key))
                delete(key, "contact_id", contact_range)
                delete(key, "company_id", company_range)
            delete("tags", "contact_id", contact_range)
            delete("audit", "id", ranges.get("audit"))
            for record_type, span in (("people.contact", contact_range), ("people.company", company_range),
                                      ("timeline.activity", ranges.get("activity"))):
                if span:
                    cursor.execute(f"DELETE FROM {q(AuditEntry._meta.db_table)} WHERE record_type = %s "
                                   "AND record_id BETWEEN %s AND %s", [record_type, *span])
            # contacts of other owners may point at demo companies: unlink them first
            if company_range:
                cursor.execute(f"UPDATE {q(Contact._meta.db_table)} SET company_id = NULL "
                               "WHERE company_id BETWEEN %s AND %s AND NOT (id BETWEEN %s AND %s)",
                               [*company_range, *(contact_range or [0, -1])])
            delete("contact", "id", contact_range)
            delete("company", "id", company_range)
            created = dataset.created
            Tag.objects.filter(pk__in=created.get("tags", [])).delete()
            CustomField.objects.filter(pk__in=created.get("custom_fields", [])).delete()
            get_user_model().objects.filter(pk__in=created.get("users", [])).delete()
            Team.objects.filter(pk__in=created.get("teams", [])).delete()
            dataset.delete()
        removed += 1
    return removed
