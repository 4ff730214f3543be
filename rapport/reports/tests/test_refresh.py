"""The refresh on a small hand-built order book: what it stores, and how it fails."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.reports.models import CustomerScore, ModelRun
from rapport.reports.refresh import refresh_scores, request_refresh
from rapport.sales.models import Deal, DealContact, Order, Pipeline, Stage
from rapport.timeline.models import Activity, Event

from .scores_fixtures import AS_OF, at_day, book_fixture, order  # noqa: F401 - book_fixture is a fixture

pytestmark = pytest.mark.django_db


def score_of(contact) -> CustomerScore:
    return CustomerScore.objects.get(contact=contact)


def test_refresh_scores_every_customer_and_records_the_run(book):
    run = refresh_scores(as_of=AS_OF)
    assert run.status == "done" and run.finished_at and run.seconds > 0
    buyers = Order.objects.exclude(contact=None).values("contact").distinct().count()
    assert run.customers == buyers == CustomerScore.objects.filter(contact__isnull=False).count()
    assert run.chosen_model in ("bg_nbd", "pareto_nbd")
    assert run.why.startswith(run.chosen_model)
    assert set(run.fits["contacts"]["calibration"]["fits"]) <= {"bg_nbd", "pareto_nbd"}
    assert run.fits["contacts"]["fit"]["model"] == run.chosen_model
    assert set(run.timings) >= {"load orders", "contact: read events, contacts, deals", "contact: fit", "store"}
    for score in CustomerScore.objects.all():
        assert 0.0 <= score.probability_alive <= 1.0
        assert 0 <= score.health <= 100
        assert score.as_of == AS_OF and score.run_id == run.pk
        assert score.lifetime_value >= 0 and score.value_12m >= 0


def test_a_lapsed_customer_scores_lower_than_a_loyal_one(book):
    refresh_scores(as_of=AS_OF)
    loyal, lapsed = score_of(book.loyal), score_of(book.lapsed)
    assert loyal.probability_alive > 0.8 > 0.2 > lapsed.probability_alive
    assert loyal.expected_purchases_12m > 10 * lapsed.expected_purchases_12m
    assert loyal.value_12m > 10 * lapsed.value_12m
    assert loyal.lifetime_value > loyal.value_12m
    assert loyal.health > lapsed.health
    assert lapsed.health_components["recency"] == 0
    assert loyal.usual_interval_days == pytest.approx(14, abs=1)


def test_observed_facts_are_exact(book):
    refresh_scores(as_of=AS_OF)
    loyal = score_of(book.loyal)
    placed = [at_day(d) for d in range(3, 729, 14)]
    assert loyal.orders == len(placed)  # the order after the as-of date is left out
    assert loyal.revenue == Decimal("80.00") * len(placed)
    assert loyal.first_order_at == placed[0] and loyal.last_order_at == placed[-1]
    assert loyal.owner_id == book.loyal.owner_id and loyal.team_id == book.loyal.team_id
    one_time = score_of(book.one_time)
    assert one_time.frequency == 0 and one_time.probability_alive > 0.5  # a recent first order: little sign they left
    if one_time.model == "bg_nbd":
        assert one_time.probability_alive == 1.0  # BG/NBD: nobody leaves before a repeat purchase
    assert one_time.usual_interval_days is None


def test_company_scores_aggregate_the_orders_placed_for_the_company(book):
    run = refresh_scores(as_of=AS_OF)
    company = CustomerScore.objects.get(company=book.company)
    assert run.companies == 1
    assert company.orders == Order.objects.filter(company=book.company, ordered_at__lt=dt.datetime(
        2025, 7, 1, tzinfo=dt.UTC)).count()
    assert company.team_id == book.company.team_id
    assert company.contact_id is None and 0 <= company.health <= 100


def test_orders_without_an_exchange_rate_count_as_purchases_but_not_as_value(book):
    run = refresh_scores(as_of=AS_OF)
    foreign = score_of(book.foreign)
    euro_orders = len(range(10, 729, 30))
    assert run.orders_without_rate == book.jpy_orders
    assert foreign.orders == euro_orders + book.jpy_orders
    assert foreign.orders_without_rate == book.jpy_orders
    assert foreign.revenue == Decimal("60.00") * euro_orders
    # The mean order stays that of the orders with a known value, not dragged down by unknown ones.
    assert foreign.expected_order_value == pytest.approx(60, rel=0.25)


def test_exchange_rates_convert_other_currencies(book, seller):
    from rapport.sales.models import ExchangeRate

    ExchangeRate.objects.create(currency="JPY", rate=Decimal("0.0062"), valid_from=dt.date(2023, 1, 1))
    run = refresh_scores(as_of=AS_OF)
    foreign = score_of(book.foreign)
    assert run.orders_without_rate == 0 and foreign.orders_without_rate == 0
    assert foreign.revenue == Decimal("60.00") * len(range(10, 729, 30)) + Decimal("55.80") * book.jpy_orders


def test_a_rerun_replaces_the_rows(book):
    first = refresh_scores(as_of=AS_OF)
    count = CustomerScore.objects.count()
    Order.objects.filter(contact=book.lapsed).update(deleted_at=timezone.now())
    second = refresh_scores(as_of=AS_OF)
    assert CustomerScore.objects.count() == count - 1
    assert not CustomerScore.objects.filter(contact=book.lapsed).exists()
    assert set(CustomerScore.objects.values_list("run_id", flat=True)) == {second.pk}
    assert ModelRun.objects.filter(pk=first.pk, status="done").exists()


def test_health_reads_engagement_contacts_and_deals(book, seller):
    loyal = book.loyal
    Activity.objects.create(kind="call", contact=loyal, owner=seller, occurred_at=at_day(700))
    Activity.objects.create(kind="note", contact=loyal, owner=seller, occurred_at=at_day(720))  # not a talk
    Event.objects.bulk_create([Event(kind="page_view", contact=loyal, occurred_at=at_day(day))
                               for day in (560, 600, 610, 650, 700, 710, 720)])
    pipeline = Pipeline.objects.first()
    stage = Stage.objects.filter(pipeline=pipeline).first()
    deals = [Deal.objects.create(name=f"Deal {i}", pipeline=pipeline, stage=stage, currency="EUR", owner=seller,
                                 stage_entered_at=at_day(entered), last_activity_at=at_day(active),
                                 created_at=at_day(500))
             for i, (entered, active) in enumerate([(720, 720), (600, 600), (650, 725)])]
    for deal in deals:
        DealContact.objects.create(deal=deal, contact=loyal)
    refresh_scores(as_of=AS_OF)
    score = score_of(loyal)
    assert score.last_contacted_at == at_day(700)
    assert (score.events_recent, score.events_before) == (4, 3)  # 90 days before 30 June, and the 90 before
    assert (score.open_deals, score.moving_deals, score.stalled_deals) == (3, 1, 1)
    assert score.health_components["deals"] == 50


def test_contract_customers_are_scored_by_their_renewals(db, seller, make_contact):
    from .scores_fixtures import crowd

    people, orders = crowd(seller, 150)
    subscribers = [make_contact(seller, first_name="Sub", last_name=f"Scriber{i}") for i in range(60)]
    for i, contact in enumerate(subscribers):
        # Contracts that began about three years ago; some renewed up to three times, the rest left.
        years = 1 + i % 4 if i < 48 else 1
        start = -390 + i % 20
        orders += [order(contact, day=start + 365 * k, total="480.00", subscription=True) for k in range(years)]
    Order.objects.bulk_create(orders)
    run = refresh_scores(as_of=AS_OF)
    record = run.fits["contacts"]
    assert "sbg" in record, record["failures"]
    assert record["sbg"]["survivors"] == [60, 36, 24, 24]
    assert run.contractual == 60
    kept = CustomerScore.objects.get(contact=subscribers[3])  # renewed three times, still running
    gone = CustomerScore.objects.get(contact=subscribers[0])  # one year, not renewed
    assert kept.model == "sbg" and kept.renewals == 3 and kept.probability_alive == 1.0
    assert 0 < kept.renewal_probability < 1
    assert kept.value_12m == pytest.approx(480 * kept.renewal_probability)
    assert kept.lifetime_value > kept.value_12m
    assert gone.probability_alive == 0.0 and gone.renewal_probability == 0.0 and gone.lifetime_value == 0.0
    assert CustomerScore.objects.get(contact=people[0]).model == run.chosen_model  # the crowd buys, no contract


def test_no_orders_means_no_scores_and_says_so(db):
    run = refresh_scores(as_of=AS_OF)
    assert run.status == "done" and run.customers == 0 and "no orders" in run.why
    assert not CustomerScore.objects.exists()


def test_a_failed_refresh_keeps_the_previous_scores(book, monkeypatch):
    refresh_scores(as_of=AS_OF)
    before = CustomerScore.objects.count()

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("rapport.reports.refresh.storing._rows", broken)
    with pytest.raises(RuntimeError):
        refresh_scores(as_of=AS_OF)
    failed = ModelRun.objects.order_by("-id").first()
    assert failed.status == "failed" and failed.error == "disk on fire"
    assert CustomerScore.objects.count() == before


def test_as_of_in_the_future_or_not_a_date_is_refused(db):
    tomorrow = timezone.now().date() + dt.timedelta(days=2)
    with pytest.raises(ValidationFailed) as error:
        refresh_scores(as_of=tomorrow)
    assert "in the future" in error.value.errors["as_of"]
    with pytest.raises(ValidationFailed) as error:
        refresh_scores(as_of="2025-01-01")
    assert error.value.errors == {"as_of": "expected a date (YYYY-MM-DD)"}
    assert not ModelRun.objects.exists()


def test_bad_health_weights_are_refused_naming_the_setting(db, settings):
    settings.RAPPORT_HEALTH_WEIGHTS = {"alive": 1, "luck": 2}
    with pytest.raises(ValidationFailed) as error:
        refresh_scores(as_of=AS_OF)
    assert "luck" in error.value.errors["RAPPORT_HEALTH_WEIGHTS"]


@pytest.mark.parametrize("text, message", [
    ("31/12/2025", "--as-of: '31/12/2025' is not a date; write it as YYYY-MM-DD"),
    ("2025-02-30", "--as-of: '2025-02-30' is not a date"),
    ("", "--as-of: '' is not a date"),
    ("2999-01-01", "--as-of: 2999-01-01 is in the future"),
])
def test_command_refuses_a_bad_as_of(db, text, message):
    with pytest.raises(CommandError) as error:
        call_command("insights", "refresh", "--as-of", text, "--quiet")
    assert message in str(error.value)
    assert not ModelRun.objects.exists()


def test_command_hands_the_refresh_to_the_worker(book, capsys):
    call_command("insights", "refresh", "--enqueue")  # the tests' task backend runs it at once
    assert "Refresh queued" in capsys.readouterr().out
    assert ModelRun.objects.get().status == "done"
    with pytest.raises(CommandError, match="always scores as of today"):
        call_command("insights", "refresh", "--enqueue", "--as-of", "2025-01-01")


def test_command_refreshes_and_reports(book, capsys):
    call_command("insights", "refresh", "--as-of", AS_OF.isoformat(), "--quiet")
    out = capsys.readouterr().out
    assert "Scored" in out and "as of 2025-06-30" in out and "have no exchange rate" in out
    assert CustomerScore.objects.filter(contact=book.loyal).exists()


def test_refresh_now_is_for_admins_one_at_a_time(book, admin_user, manager, django_capture_on_commit_callbacks):
    with pytest.raises(NotAllowed):
        request_refresh(actor=manager)
    ModelRun.objects.create(as_of=AS_OF, engine_version="1", status="running")
    with pytest.raises(ValidationFailed) as error:
        request_refresh(actor=admin_user)
    assert "already running" in error.value.errors["refresh"]
    ModelRun.objects.update(status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        run = request_refresh(actor=admin_user)
    run.refresh_from_db()
    assert run.status == "done" and run.requested_by == admin_user  # the immediate task backend ran it
    assert CustomerScore.objects.filter(run=run).count() == run.customers + run.companies > 0


@pytest.mark.django_db(transaction=True)
def test_a_big_refresh_writes_contacts_beside_scoring_companies(book, monkeypatch):
    # Every refresh counts as big here: the contacts' scores go in on the writer thread (with its
    # own connection, so this test commits its data) while the companies are scored.
    monkeypatch.setattr("rapport.reports.refresh.run.BACKGROUND_FROM", 0)
    monkeypatch.setattr("rapport.reports.refresh.run.PARALLEL_FROM", 0)  # and events are read apart
    from django.db import connection

    run = refresh_scores(as_of=AS_OF)
    beside = connection.vendor == "sqlite"  # PostgreSQL writes them after, on the one connection
    assert ("store: writing (beside the scoring)" in run.timings) == beside
    assert CustomerScore.objects.filter(contact__isnull=False).count() == run.customers > 0
    assert CustomerScore.objects.filter(company=book.company).exists()

    from rapport.reports.refresh.population import score_population

    def contacts_only(*args, fallback=None, **kwargs):
        if fallback is not None:  # the companies, scored while the contacts' rows are being written
            raise RuntimeError("companies could not be scored")
        return score_population(*args, fallback=fallback, **kwargs)

    monkeypatch.setattr("rapport.reports.refresh.run.score_population", contacts_only)
    before = set(CustomerScore.objects.values_list("id", flat=True))
    with pytest.raises(RuntimeError, match="companies could not be scored"):
        refresh_scores(as_of=AS_OF)
    assert set(CustomerScore.objects.values_list("id", flat=True)) == before  # rolled back
    assert ModelRun.objects.order_by("-id").first().status == "failed"
