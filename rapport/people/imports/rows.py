"""Judging one row of an import: pure Python, no database, so it can run in worker processes.

A row comes out either as the cleaned values it provides (only non-empty cells: an empty cell
never erases what a record already holds) or as a rejection naming the column and the reason.
The rules are the product's own: `normalize_email`, `normalize_phone`, `normalize_stage`,
`clean_value` for custom fields, and the services' text limits.
"""

from __future__ import annotations

import json
import marshal
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from rapport.people.custom_fields import clean_value
from rapport.people.models import Contact, CustomField, SizeBand
from rapport.people.normalize import (
    InvalidValue,
    name_key,
    normalize_domain,
    normalize_email,
    normalize_phone,
    normalize_stage,
)
from rapport.people.services import TEXT_LIMITS

from .mapping import CONTACT

TAG_SPLIT = re.compile(r"[;,|]")
COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")
SIZE_WORDS = {band.value: band.value for band in SizeBand} | {
    re.sub(r"[^0-9+]", "", band.label): band.value for band in SizeBand
}


@dataclass
class Accepted:
    line: int
    values: dict[str, Any]
    cells: list[str]
    # Set by NewContactRows: the row and audit entry the contact gets if the import creates it.
    record: list[Any] | None = None
    changes_head: str = ""
    changes_tail: str = ""


@dataclass
class Rejected:
    line: int
    cells: list[str]
    column: str
    reason: str


# Contact values that are not columns of the contact row.
NOT_COLUMNS = frozenset({"company", "tags"})


class NewContactRows:
    """How an accepted row becomes a new contact's database row and its audit entry.

    Done where the row is judged (the worker processes, for big files), so the writing process
    only fills in what needs the database: the company id, the time, and the contact id of the
    audit entry and event. JSON columns are JSON text, which every database accepts. The audit
    entry's changes are those `create_contact` records: each value given, the stage, owner and team,
    then the company and the tags; its text is left open after the team (changes_head) so the
    company id can go in before the tags (changes_tail).
    """

    def __init__(self, *, owner_id: int | None, team_id: int | None, created_by_id: int | None):
        fields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
        self.columns = [f.column for f in fields]
        self.json_columns = frozenset(f.column for f in fields if isinstance(f, models.JSONField))
        self.index = {column: i for i, column in enumerate(self.columns)}
        template = [json.dumps(f.get_default()) if f.column in self.json_columns else f.get_default()
                    for f in fields]
        for column, value in (("created_by_id", created_by_id), ("owner_id", owner_id), ("team_id", team_id),
                              ("deleted_at", None), ("company_id", None), ("created_at", None),
                              ("updated_at", None)):
            template[self.index[column]] = value
        self.template = template
        self.default_stage = template[self.index["lifecycle_stage"]]
        self.fixed = {"owner": [None, owner_id], "team": [None, team_id]}

    def prepare(self, item: Accepted) -> None:
        values = item.values
        index, json_columns = self.index, self.json_columns
        row = self.template.copy()
        changes = {}
        for key, value in values.items():
            if key not in NOT_COLUMNS:
                row[index[key]] = json.dumps(value) if key in json_columns else value
                changes[key] = [None, value]
        if "lifecycle_stage" not in values:
            changes["lifecycle_stage"] = [None, self.default_stage]
        changes.update(self.fixed)
        last = row[index["last_name"]]
        row[index["name_key"]] = name_key(row[index["first_name"]], last)
        row[index["last_name_key"]] = last.lower()
        item.record = row
        item.changes_head = json.dumps(changes)[:-1]
        item.changes_tail = f', "tags": {json.dumps([None, values["tags"]])}}}' if "tags" in values else "}"

    @staticmethod
    def changes_text(item: Accepted, company_id: int | None) -> str:
        company = f', "company": [null, {int(company_id)}]' if company_id else ""
        return f"{item.changes_head}{company}{item.changes_tail}"


@dataclass
class RowRules:
    """Everything needed to judge rows, picklable so worker processes get a copy."""

    entity: str
    headers: list[str]
    mapping: dict[str, str]
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    default_region: str = "US"
    new_contacts: NewContactRows | None = None

    def __post_init__(self):
        self._fields = {f["key"]: CustomField(**f) for f in self.custom_fields}
        # (cell index, header, target) for mapped columns only.
        self._columns = [(i, h, self.mapping.get(h, "")) for i, h in enumerate(self.headers)
                         if self.mapping.get(h)]
        self._zones: set[str] | None = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_fields", None)
        state.pop("_zones", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._fields = {f["key"]: CustomField(**f) for f in self.custom_fields}
        self._zones = None

    def zones(self) -> set[str]:
        if self._zones is None:
            self._zones = zoneinfo.available_timezones()
        return self._zones

    def judge(self, line: int, cells: list[str]) -> Accepted | Rejected:
        problems: list[tuple[str, str]] = []
        if len(cells) > len(self.headers) and any(c.strip() for c in cells[len(self.headers):]):
            problems.append(("", f"the row has {len(cells)} cells but the header names {len(self.headers)} "
                                 "columns (a separator inside an unquoted cell?)"))
        raw: dict[str, tuple[str, str]] = {}
        for index, header, target in self._columns:
            value = cells[index].strip() if index < len(cells) else ""
            if value:
                raw[target] = (header, value)
        values: dict[str, Any] = {}
        if self.entity == CONTACT:
            self._contact(raw, values, problems)
        else:
            self._company(raw, values, problems)
        if problems:
            return Rejected(line, cells, "; ".join(c for c, _ in problems if c) or "",
                            "; ".join(r for _, r in problems))
        return Accepted(line, values, cells)

    # --- contacts -------------------------------------------------------------------------------

    def _contact(self, raw, values, problems) -> None:
        if "email" not in raw:
            header = next((h for _, h, t in self._columns if t == "email"), "email")
            problems.append((header, "an e-mail address is required"))
        else:
            header, text = raw["email"]
            try:
                values["email"] = normalize_email(text)
            except InvalidValue as exc:
                problems.append((header, str(exc)))
        if "full_name" in raw:
            first, _, last = raw["full_name"][1].partition(" ")
            raw.setdefault("first_name", (raw["full_name"][0], first))
            if last.strip():
                raw.setdefault("last_name", (raw["full_name"][0], last.strip()))
        region = None
        if "country" in raw:
            header, text = raw["country"]
            if COUNTRY_RE.match(text):
                values["country"] = region = text.upper()
            else:
                problems.append((header, f"'{text}' is not a two-letter ISO country code (e.g. GB, US)"))
        region = region or self.default_region
        phones = []
        for target in ("phone", "mobile"):
            if target in raw:
                header, text = raw[target]
                try:
                    phones.append(normalize_phone(text, region))
                except InvalidValue as exc:
                    problems.append((header, str(exc)))
        if phones:
            values["phone"] = phones[0]
            if len(phones) > 1 and phones[1] != phones[0]:
                values["other_phones"] = [phones[1]]
        if "lifecycle_stage" in raw:
            header, text = raw["lifecycle_stage"]
            try:
                values["lifecycle_stage"] = normalize_stage(text)
            except InvalidValue as exc:
                problems.append((header, str(exc)))
        for name in ("first_name", "last_name", "job_title", "source", "street", "city", "region",
                     "postal_code"):
            if name in raw:
                self._text(name, raw[name], values, problems)
        if "company" in raw:
            header, text = raw["company"]
            if len(text) > TEXT_LIMITS["name"]:
                problems.append((header, f"at most {TEXT_LIMITS['name']} characters"))
            values["company"] = text
        if "time_zone" in raw:
            header, text = raw["time_zone"]
            if text in self.zones():
                values["time_zone"] = text
            else:
                problems.append((header, f"'{text}' is not a time zone (e.g. Europe/London)"))
        if "tags" in raw:
            names = {t.strip().lower()[:60] for t in TAG_SPLIT.split(raw["tags"][1]) if t.strip()}
            if names:
                values["tags"] = sorted(names)
        self._custom(raw, values, problems)

    # --- companies ------------------------------------------------------------------------------

    def _company(self, raw, values, problems) -> None:
        if "name" not in raw:
            header = next((h for _, h, t in self._columns if t == "name"), "name")
            problems.append((header, "a company needs a name"))
        else:
            self._text("name", raw["name"], values, problems)
        if "domain" in raw:
            header, text = raw["domain"]
            try:
                values["domain"] = normalize_domain(text)
            except InvalidValue as exc:
                problems.append((header, str(exc)))
        if "country" in raw:
            header, text = raw["country"]
            if COUNTRY_RE.match(text):
                values["country"] = text.upper()
            else:
                problems.append((header, f"'{text}' is not a two-letter ISO country code (e.g. GB, US)"))
        if "size_band" in raw:
            header, text = raw["size_band"]
            band = size_band_of(text)
            if band:
                values["size_band"] = band
            else:
                problems.append((header, f"'{text}' is not a size band (use one of: "
                                         f"{', '.join(SizeBand.values)} or a number of employees)"))
        for name in ("industry", "notes"):
            if name in raw:
                self._text(name, raw[name], values, problems)
        self._custom(raw, values, problems)

    # --- shared ---------------------------------------------------------------------------------

    def _text(self, name, cell, values, problems) -> None:
        header, text = cell
        limit = TEXT_LIMITS.get(name)
        if limit and len(text) > limit:
            problems.append((header, f"at most {limit} characters"))
        else:
            values[name] = text

    def _custom(self, raw, values, problems) -> None:
        custom = {}
        for target, (header, text) in raw.items():
            if not target.startswith("custom."):
                continue
            definition = self._fields.get(target[len("custom."):])
            if definition is None:
                problems.append((header, f"'{target}' is not a custom field"))
                continue
            try:
                custom[definition.key] = clean_value(definition, text)
            except InvalidValue as exc:
                problems.append((header, str(exc)))
        if custom:
            values["custom"] = custom


def size_band_of(text: str) -> str:
    """A size band from its code, its label or a head count ("120" → "50-249")."""
    text = text.strip()
    if text.replace(",", "").isdigit():
        count = int(text.replace(",", ""))
        for limit, band in ((9, "1-9"), (49, "10-49"), (249, "50-249"), (999, "250-999")):
            if count <= limit:
                return band
        return "1000+"
    if text in SIZE_WORDS:
        return SIZE_WORDS[text]
    return SIZE_WORDS.get(re.sub(r"[^0-9+]", "", text.replace("–", "-")), "")


def judge_chunk(rules: RowRules, rows: list[tuple[int, list[str]]], *,
                keep_cells: bool = True) -> list[Accepted | Rejected]:
    judged = [rules.judge(line, cells) for line, cells in rows]
    if rules.new_contacts is not None:
        prepare = rules.new_contacts.prepare
        for item in judged:
            if isinstance(item, Accepted):
                prepare(item)
    if not keep_cells:
        for item in judged:
            item.cells = None
    return judged


# --- between processes ----------------------------------------------------------------------------
# Pickling a chunk of judged rows (dataclasses holding dicts and lists) cost more than judging them
# did, on both sides. Plain tuples through marshal, which knows only builtin types and is several
# times faster, do the same job; cells, values and drafted rows hold nothing else (custom values
# are stored JSON forms). Both ends are the same interpreter, forked.

def judge_packed_chunk(rules: RowRules, packed_rows: bytes) -> bytes | list[tuple]:
    """judge_chunk for a worker process: marshalled (line, cells) pairs in, marshalled tuples out
    (see unpack_judged), without the cells, which the sending process still has."""
    packed = []
    for item in judge_chunk(rules, marshal.loads(packed_rows), keep_cells=False):
        if isinstance(item, Accepted):
            packed.append((item.line, item.values, item.record, item.changes_head, item.changes_tail))
        else:
            packed.append((item.line, item.column, item.reason))
    try:
        return marshal.dumps(packed)
    except ValueError:  # a value marshal does not know: let multiprocessing pickle it
        return packed


def unpack_judged(result: bytes | list[tuple], rows: list[tuple[int, list[str]]]) -> list[Accepted | Rejected]:
    """The judgements of judge_packed_chunk, given back the cells of the rows they judged."""
    judged: list[Accepted | Rejected] = []
    for packed, (_line, cells) in zip(marshal.loads(result) if isinstance(result, bytes) else result, rows,
                                      strict=True):
        if len(packed) == 5:
            line, values, record, head, tail = packed
            judged.append(Accepted(line, values, cells, record, head, tail))
        else:
            line, column, reason = packed
            judged.append(Rejected(line, cells, column, reason))
    return judged
