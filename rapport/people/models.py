"""Contacts, companies, interests (tags) and admin-defined custom fields."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from rapport.core.models import Team, TrackedModel


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MARKETING_QUALIFIED = "marketing_qualified", "Marketing-qualified"
    SALES_QUALIFIED = "sales_qualified", "Sales-qualified"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    ADVOCATE = "advocate", "Advocate"
    FORMER_CUSTOMER = "former_customer", "Former customer"


class SizeBand(models.TextChoices):
    MICRO = "1-9", "1–9"
    SMALL = "10-49", "10–49"
    MEDIUM = "50-249", "50–249"
    LARGE = "250-999", "250–999"
    ENTERPRISE = "1000+", "1,000+"


class Tag(models.Model):
    """An interest or label on a contact (e.g. "webinar-2026", "prefers-phone")."""

    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Company(TrackedModel):
    name = models.CharField(max_length=200)
    # Lower-cased name for prefix search through a plain B-tree index on every database.
    name_key = models.CharField(max_length=200, editable=False, default="")
    domain = models.CharField(max_length=253, blank=True, default="", help_text="Primary web domain")
    other_domains = models.JSONField(default=list, blank=True)
    industry = models.CharField(max_length=100, blank=True, default="")
    size_band = models.CharField(max_length=10, choices=SizeBand.choices, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166 alpha-2")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    notes = models.TextField(blank=True, default="")
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "companies"
        indexes = [
            models.Index(fields=["name_key", "id"], name="company_name_idx"),
            models.Index(fields=["domain"], name="company_domain_idx"),
            models.Index(fields=["team", "id"], name="company_team_idx"),
            models.Index(fields=["owner", "id"], name="company_owner_idx"),
            # Only trashed rows: a full index on deleted_at tempts SQLite to answer every
            # "deleted_at IS NULL" list from it, scanning all rows.
            models.Index(fields=["deleted_at"], condition=Q(deleted_at__isnull=False), name="company_trash_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def domains(self) -> list[str]:
        return [d for d in [self.domain, *self.other_domains] if d]


class Contact(TrackedModel):
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    # "first last" and "last" lower-cased, for prefix search by either name.
    name_key = models.CharField(max_length=201, editable=False, default="")
    last_name_key = models.CharField(max_length=100, editable=False, default="")
    email = models.CharField(max_length=254, null=True, blank=True, help_text="Primary e-mail, normalised")
    other_emails = models.JSONField(default=list, blank=True)
    phone = models.CharField(max_length=20, blank=True, default="", help_text="Primary phone, E.164")
    other_phones = models.JSONField(default=list, blank=True)
    job_title = models.CharField(max_length=150, blank=True, default="")
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts", db_index=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    lifecycle_stage = models.CharField(max_length=30, choices=LifecycleStage.choices, default=LifecycleStage.LEAD)
    source = models.CharField(max_length=100, blank=True, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    street = models.CharField(max_length=200, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="")
    region = models.CharField(max_length=100, blank=True, default="")
    postal_code = models.CharField(max_length=20, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    time_zone = models.CharField(max_length=64, blank=True, default="")
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=Q(deleted_at__isnull=True), name="contact_live_email_unique"
            )
        ]
        indexes = [
            models.Index(fields=["name_key", "id"], name="contact_name_idx"),
            models.Index(fields=["last_name_key", "id"], name="contact_last_name_idx"),
            models.Index(fields=["phone"], name="contact_phone_idx"),
            models.Index(fields=["team", "id"], name="contact_team_idx"),
            models.Index(fields=["owner", "id"], name="contact_owner_idx"),
            models.Index(fields=["lifecycle_stage", "id"], name="contact_stage_idx"),
            models.Index(fields=["company", "id"], name="contact_company_idx"),
            # A team's own copy of each search key: a seller's search reads only their team's
            # matches, not those of the whole table (see selectors._search_q and decision 0003).
            models.Index(fields=["team", "name_key", "id"], name="contact_team_name_idx"),
            models.Index(fields=["team", "last_name_key", "id"], name="contact_team_last_name_idx"),
            models.Index(fields=["team", "email", "id"], name="contact_team_email_idx"),
            # A user's own records outside their team (left there when they moved team), found
            # without reading all of their records.
            models.Index(fields=["owner", "team", "id"], name="contact_owner_team_idx"),
            # Only trashed rows (see company_trash_idx); the trash page reads it.
            models.Index(fields=["deleted_at"], condition=Q(deleted_at__isnull=False), name="contact_trash_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class CustomFieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"
    BOOLEAN = "boolean", "Yes / no"


class CustomFieldEntity(models.TextChoices):
    CONTACT = "contact", "Contact"
    COMPANY = "company", "Company"


class CustomField(models.Model):
    """A typed field an admin adds to contacts or companies; values live in the record's `custom`."""

    entity = models.CharField(max_length=10, choices=CustomFieldEntity.choices)
    key = models.SlugField(max_length=50, help_text="Used in the API, imports and filters")
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=10, choices=CustomFieldType.choices)
    choices = models.JSONField(default=list, blank=True, help_text="Allowed values for a choice field")
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["entity", "position", "label"]
        constraints = [models.UniqueConstraint(fields=["entity", "key"], name="custom_field_key_unique")]

    def __str__(self) -> str:
        return f"{self.get_entity_display()}: {self.label}"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Waiting to start"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One CSV import: the file, how its columns map to fields, and what became of each row.

    The counts always satisfy read = created + updated + rejected; rejected rows are kept in a
    CSV (the original cells plus line, column and reason) the user downloads and fixes.
    """

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Who will own the imported records: the importer, or another user an admin names.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entity = models.CharField(max_length=10, choices=CustomFieldEntity.choices)
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True, max_length=300)
    file_name = models.CharField(max_length=255, help_text="The name the file had on the user's machine")
    encoding = models.CharField(max_length=20, blank=True, default="")
    delimiter = models.CharField(max_length=1, blank=True, default="")
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True, help_text="Column header → field")
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    rows_total = models.PositiveIntegerField(default=0, help_text="Estimated rows, for the progress bar")
    rows_done = models.PositiveIntegerField(default=0)
    read_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    rejects_file = models.CharField(max_length=300, blank=True, default="", help_text="Path under MEDIA_ROOT")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "created_at"], name="importjob_user_idx")]

    def __str__(self) -> str:
        return f"Import of {self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)
