"""Fixtures the deal page tests share (imported by name, as orders_fixtures.py does)."""

from __future__ import annotations

import pytest

from rapport.sales.models import Pipeline
from rapport.sales.selectors import deals as selectors
from rapport.sales.services import deals as services


@pytest.fixture(name="pipeline")
def pipeline_fixture(db):
    """The default "New business" pipeline (made by migration 0002) with its five stages."""
    return Pipeline.objects.get(name="New business")


@pytest.fixture(name="stages")
def stages_fixture(pipeline):
    return selectors.stages_of(pipeline)


@pytest.fixture(name="make_deal")
def make_deal_fixture(pipeline):
    counter = {"n": 0}

    def make(actor, **data):
        counter["n"] += 1
        data.setdefault("name", f"Deal {counter['n']}")
        data.setdefault("amount", "100")
        data.setdefault("currency", "EUR")
        return services.create_deal(actor=actor, data=data)

    return make


@pytest.fixture(name="as_seller")
def as_seller_fixture(client, seller):
    client.force_login(seller)
    return client


HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": target}
