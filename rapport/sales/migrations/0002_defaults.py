"""A new installation starts with one pipeline and the usual close reasons, so a seller can
record a deal on day one; admins rename, reorder or replace them."""

from django.db import migrations

STAGES = [("Qualification", 10), ("Needs analysis", 25), ("Proposal", 50), ("Negotiation", 75),
          ("Commitment", 90)]
REASONS = {
    "won": ["Best fit for their need", "Price and value", "Relationship and trust", "Referral"],
    "lost": ["Price", "Chose a competitor", "No budget", "No decision / went quiet", "Poor fit",
             "Timing"],
}


def create_defaults(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    CloseReason = apps.get_model("sales", "CloseReason")
    if Pipeline.objects.exists():
        return
    pipeline = Pipeline.objects.create(name="New business", kind="new_business", position=0)
    for position, (name, probability) in enumerate(STAGES):
        Stage.objects.create(pipeline=pipeline, name=name, position=position, probability=probability)
    for outcome, labels in REASONS.items():
        for position, label in enumerate(labels):
            CloseReason.objects.get_or_create(outcome=outcome, label=label, defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
