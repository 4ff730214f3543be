"""Record-level visibility: the one place that decides which records a user may see.

Every selector that lists or fetches owned records passes its queryset through
`visible_to`, so the UI, the API, search, exports, counts and imports agree.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import Profile, Role, Visibility


def profile_of(user) -> Profile:
    profile = getattr(user, "_rapport_profile", None)
    if profile is None:
        profile, _ = Profile.objects.select_related("team").get_or_create(
            user=user, defaults={"role": Role.ADMIN if user.is_superuser else Role.SELLER}
        )
        user._rapport_profile = profile
    return profile


def visibility_of(user) -> str:
    if not user or not user.is_authenticated or not user.is_active:
        return "none"
    return profile_of(user).visibility


def visible_to(queryset: QuerySet, user, *, owner_field: str = "owner", team_field: str = "team") -> QuerySet:
    """Only the records `user` may see: their own, their team's, or all, by role."""
    scope = visibility_of(user)
    if scope == Visibility.ALL:
        return queryset
    if scope == Visibility.TEAM:
        team_id = profile_of(user).team_id
        if team_id is not None:
            return queryset.filter(Q(**{f"{team_field}_id": team_id}) | Q(**{f"{owner_field}_id": user.pk}))
        return queryset.filter(**{f"{owner_field}_id": user.pk})
    if scope == Visibility.OWN:
        return queryset.filter(**{f"{owner_field}_id": user.pk})
    return queryset.none()


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or profile_of(user).role == Role.ADMIN))


def may_assign_owner(actor, new_owner) -> bool:
    """Admins give records to anyone; managers to their team; everyone else only to themselves.

    This is what stops mass assignment: an API client cannot hand a record to another team
    (or take one) just by sending an `owner` field.
    """
    if new_owner is None:
        return is_admin(actor)
    if new_owner.pk == actor.pk or is_admin(actor):
        return True
    actor_profile = profile_of(actor)
    if actor_profile.role == Role.MANAGER and actor_profile.team_id is not None:
        return profile_of(new_owner).team_id == actor_profile.team_id
    return False


def team_id_for_owner(owner) -> int | None:
    return profile_of(owner).team_id if owner is not None else None
