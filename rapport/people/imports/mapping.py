"""Which column of the file goes into which field, with suggestions for common CRM exports."""

from __future__ import annotations

import re

CONTACT = "contact"
COMPANY = "company"
ENTITIES = {CONTACT: "Contacts", COMPANY: "Companies"}

# (target, label shown in the mapping select)
CONTACT_TARGETS = [
    ("email", "E-mail"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("full_name", "Full name (split into first and last)"),
    ("phone", "Phone"),
    ("mobile", "Mobile phone"),
    ("job_title", "Job title"),
    ("company", "Company name"),
    ("lifecycle_stage", "Lifecycle stage"),
    ("source", "Source"),
    ("street", "Street"),
    ("city", "City"),
    ("region", "Region / state"),
    ("postal_code", "Postal code"),
    ("country", "Country (two-letter code)"),
    ("time_zone", "Time zone"),
    ("tags", "Tags / interests"),
]
COMPANY_TARGETS = [
    ("name", "Name"),
    ("domain", "Web domain"),
    ("industry", "Industry"),
    ("size_band", "Size band"),
    ("country", "Country (two-letter code)"),
    ("notes", "Notes"),
]
REQUIRED = {CONTACT: "email", COMPANY: "name"}

# Header spellings seen in exports from the popular CRMs and spreadsheets, squeezed to
# lower-case letters and digits.
SYNONYMS = {
    CONTACT: {
        "email": ["email", "emailaddress", "e-mail", "e-mailaddress", "primaryemail", "workemail", "mail",
                  "emailaddress1", "contactemail", "businessemail"],
        "first_name": ["firstname", "givenname", "forename", "first"],
        "last_name": ["lastname", "surname", "familyname", "last"],
        "full_name": ["name", "fullname", "contactname", "contact"],
        "phone": ["phone", "phonenumber", "telephone", "tel", "workphone", "businessphone", "officephone",
                  "primaryphone", "phone1"],
        "mobile": ["mobile", "mobilephone", "mobilephonenumber", "cell", "cellphone", "mobilenumber"],
        "job_title": ["jobtitle", "title", "position", "role"],
        "company": ["companyname", "company", "organization", "organisation", "account", "accountname",
                    "associatedcompany", "employer"],
        "lifecycle_stage": ["lifecyclestage", "stage", "lifecycle", "contactstage"],
        "source": ["source", "leadsource", "originalsource"],
        "street": ["street", "streetaddress", "address", "address1", "mailingstreet"],
        "city": ["city", "town", "mailingcity"],
        "region": ["region", "state", "stateregion", "province", "county", "mailingstate"],
        "postal_code": ["postalcode", "zip", "zipcode", "postcode", "mailingzip", "mailingpostalcode"],
        "country": ["country", "countrycode", "countryregion", "mailingcountry"],
        "time_zone": ["timezone", "tz"],
        "tags": ["tags", "tag", "interests", "labels", "lists"],
    },
    COMPANY: {
        "name": ["name", "companyname", "company", "organization", "organisation", "accountname", "account"],
        "domain": ["domain", "website", "companydomainname", "web", "url", "websiteurl", "domainname"],
        "industry": ["industry", "sector"],
        "size_band": ["size", "sizeband", "employees", "numberofemployees", "companysize"],
        "country": ["country", "countrycode", "countryregion", "billingcountry"],
        "notes": ["notes", "description", "about"],
    },
}


def squeeze(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def targets(entity: str, custom_fields) -> list[tuple[str, str]]:
    """Every field a column can be mapped to, custom fields last as `custom.<key>`."""
    base = CONTACT_TARGETS if entity == CONTACT else COMPANY_TARGETS
    return [*base, *[(f"custom.{f.key}", f"{f.label} (custom)") for f in custom_fields]]


def suggest_mapping(entity: str, headers: list[str], custom_fields) -> dict[str, str]:
    """header → target for every header we recognise; unrecognised headers map to "" (skip).

    Exact field codes win, then the synonyms above, then custom fields by key or label. Each
    target is suggested once, for the first column that asks for it.
    """
    lookup: dict[str, str] = {}
    for target, _label in targets(entity, custom_fields):
        lookup.setdefault(squeeze(target), target)
    for target, words in SYNONYMS[entity].items():
        for word in words:
            lookup.setdefault(squeeze(word), target)
    for field in custom_fields:
        lookup.setdefault(squeeze(field.key), f"custom.{field.key}")
        lookup.setdefault(squeeze(field.label), f"custom.{field.key}")
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        key = squeeze(header)
        target = lookup.get(key, "")
        if not target and key.startswith("custom"):
            target = lookup.get(key[len("custom"):], "")
            target = target if target.startswith("custom.") else ""
        if target in used:
            target = ""
        if target:
            used.add(target)
        mapping[header] = target
    # A "Name" column next to first/last name columns is better left alone than split.
    if "full_name" in used and ("first_name" in used or "last_name" in used):
        mapping = {h: ("" if t == "full_name" else t) for h, t in mapping.items()}
    return mapping


def check_mapping(entity: str, headers: list[str], mapping: dict[str, str], custom_fields) -> dict[str, str]:
    """Errors keyed by header (or "mapping") for a mapping the user submitted."""
    allowed = {t for t, _ in targets(entity, custom_fields)}
    errors: dict[str, str] = {}
    seen: dict[str, str] = {}
    for header, target in mapping.items():
        if header not in headers:
            errors[header] = "this column is not in the file"
            continue
        if not target:
            continue
        if target not in allowed:
            errors[header] = f"'{target}' is not a field you can import into"
        elif target in seen:
            errors[header] = f"the column '{seen[target]}' already goes into this field"
        else:
            seen[target] = header
    required = REQUIRED[entity]
    if required not in seen and not errors:
        label = dict(targets(entity, custom_fields))[required]
        errors["mapping"] = (f"Choose the column that holds the {label.lower()}: every "
                             f"{'contact' if entity == CONTACT else 'company'} row needs one.")
    return errors
