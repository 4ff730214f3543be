"""The starting list of reasons a lead is dropped; admins edit it afterwards."""

from django.db import migrations

DEFAULTS = [
    "No budget",
    "Not the decision maker and no access to one",
    "No need for our products",
    "Timing: not buying in the next year",
    "Bought from a competitor",
    "Outside our market (country, industry or size)",
    "Unreachable",
    "Spam or fake details",
    "Duplicate of another lead",
]


def seed(apps, schema_editor):
    reason = apps.get_model("leads", "DisqualifyReason")
    for position, label in enumerate(DEFAULTS, start=1):
        reason.objects.get_or_create(label=label, defaults={"position": position * 10})


def unseed(apps, schema_editor):
    # Leave the reasons: leads may point at them (PROTECT), and admins may have edited them.
    pass


class Migration(migrations.Migration):

    dependencies = [("leads", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
