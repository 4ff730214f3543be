"""What the demo generator wrote, so a second run can refuse and `--reset` can remove exactly it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class DemoDataset(models.Model):
    """One load of demo data. The generator assigns contiguous ids, so ranges name every row."""

    created_at = models.DateTimeField(default=timezone.now)
    seed = models.BigIntegerField()
    contacts = models.PositiveIntegerField()
    events = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0)
    # table label -> [first id, last id] of the rows this load inserted
    id_ranges = models.JSONField(default=dict)
    # ids of the users, teams, tags and custom fields this load created (not ones that existed)
    created = models.JSONField(default=dict)
    # contacts with a long timeline (1,000+ events), for benchmarks and tours of the product
    busy_contact_ids = models.JSONField(default=list)
    # the parameters the sales data was drawn with (win rates, BG/NBD and spend), so tests can
    # check that the insights engine finds them again
    parameters = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"Demo data: {self.contacts} contacts, seed {self.seed}"
