"""The value distribution: ranges, counts and totals of the stored scores a user may see."""

from __future__ import annotations

import pytest

from rapport.core.errors import ValidationFailed
from rapport.people import services as people
from rapport.reports.selectors.analytics import value_distribution, value_edges

from .analytics_fixtures import make_score


@pytest.fixture(name="scores")
def scores_fixture(seller, teammate, other_seller, make_contact, make_company):
    """North contacts worth 0, 5, 15, 120 and 1,000 over 12 months (lifetime: ten times that);
    a north company worth 700; a south contact worth 50,000; a north contact not scored yet."""
    for value, owner in [(0, seller), (5, teammate), (15, seller), (120, seller), (1000, teammate),
                         (50000, other_seller)]:
        make_score(contact=make_contact(owner), value_12m=value, lifetime_value=value * 10)
    make_score(company=make_company(seller), value_12m=700, lifetime_value=7000)
    make_contact(seller, first_name="Unscored")


def test_edges_step_1_2_5_from_a_thousandth_of_the_top():
    assert value_edges(1000) == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]
    assert value_edges(50000) == [0, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]
    assert value_edges(0.4) == [0, 1]
    assert value_edges(0) == [0, 1]


def test_a_teams_distribution(scores, seller):
    result = value_distribution(seller)
    assert (result.customers, result.total, result.mean, result.top) == (5, 1140, 228, 1000)
    counts = {(b.low, b.high): b.customers for b in result.bins if b.customers}
    assert counts == {(0, 1): 1, (5, 10): 1, (10, 20): 1, (100, 200): 1, (1000, 2000): 1}
    assert sum(b.value for b in result.bins) == 1140
    assert result.as_of is not None and result.measure_label == "Predicted 12-month value"


def test_lifetime_value_and_companies(scores, seller):
    assert value_distribution(seller, measure="lifetime_value").total == 11400
    companies = value_distribution(seller, of="companies")
    assert (companies.customers, companies.total) == (1, 700)


def test_another_team_and_an_admin(scores, other_seller, admin_user):
    south = value_distribution(other_seller)
    assert (south.customers, south.total) == (1, 50000)
    assert value_distribution(admin_user).customers == 6


def test_deleted_contacts_leave_the_distribution(scores, seller, admin_user):
    from rapport.reports.models import CustomerScore

    worth_most = CustomerScore.objects.get(value_12m=1000).contact
    people.delete_contact(actor=admin_user, contact=worth_most)
    assert value_distribution(seller).customers == 4


def test_empty_when_nothing_is_scored(seller):
    result = value_distribution(seller)
    assert result.customers == 0 and result.bins == [] and result.mean is None


@pytest.mark.parametrize(("params", "field"), [
    ({"measure": "revenue"}, "measure"),
    ({"of": "deals"}, "of"),
])
def test_bad_choices_are_refused_naming_the_field(seller, params, field):
    with pytest.raises(ValidationFailed) as caught:
        value_distribution(seller, **params)
    assert list(caught.value.errors) == [field] and "choose" in caught.value.errors[field]


def test_two_queries(scores, admin_user, django_assert_num_queries):
    value_distribution(admin_user)
    with django_assert_num_queries(2):
        value_distribution(admin_user)
