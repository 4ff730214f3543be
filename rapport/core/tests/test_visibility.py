import pytest

from rapport.core.visibility import may_assign_owner
from rapport.people import selectors


def test_roles_see_own_team_or_all(seller, teammate, other_seller, manager, marketer, admin_user, make_contact):
    north = make_contact(seller)
    south = make_contact(other_seller)
    assert set(selectors.contact_queryset(teammate)) == {north}
    assert set(selectors.contact_queryset(manager)) == {north}
    assert set(selectors.contact_queryset(other_seller)) == {south}
    assert set(selectors.contact_queryset(marketer)) == {north, south}
    assert set(selectors.contact_queryset(admin_user)) == {north, south}


def test_own_scope_sees_only_own_records(settings, seller, teammate, make_contact):
    settings.RAPPORT_ROLE_VISIBILITY = {**settings.RAPPORT_ROLE_VISIBILITY, "seller": "own"}
    mine = make_contact(seller)
    make_contact(teammate)
    assert list(selectors.contact_queryset(seller)) == [mine]


def test_inactive_users_see_nothing(seller, make_contact):
    make_contact(seller)
    seller.is_active = False
    assert not selectors.contact_queryset(seller).exists()


@pytest.mark.parametrize("actor, target, allowed", [
    ("seller", "seller", True), ("seller", "teammate", False), ("seller", "other_seller", False),
    ("manager", "teammate", True), ("manager", "other_seller", False), ("admin_user", "other_seller", True),
])
def test_who_may_give_records_to_whom(request, actor, target, allowed):
    assert may_assign_owner(request.getfixturevalue(actor), request.getfixturevalue(target)) is allowed
