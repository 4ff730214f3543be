"""The dashboards' charts as Vega-Lite specifications, built with Altair from selector results.

Each function returns the JSON-ready spec; the page embeds it as a data block and the vendored
vega-embed draws it (`static/reports/charts.js`), so no chart library is fetched from a CDN and
no inline script runs. Every chart is also shown as a table of its numbers on the page: the spec
is a picture of those numbers, never the only place they are.
"""

from __future__ import annotations

import altair as alt

from .selectors.analytics import Funnel, Tracking, ValueDistribution
from .selectors.analytics_cohorts import CohortTable
from .selectors.analytics_sources import SourceQuality

BLUE = "#2456d6"
ORANGE = "#b54708"
HEIGHT = 260
COUNT_AXIS = {"tickMinStep": 1, "format": ",d"}  # counts of people: no 0.5 customer ticks


def _spec(chart: alt.TopLevelMixin, description: str) -> dict:
    # Validation against the schema costs ~10 ms a chart and the specs are fixed shapes, so it
    # runs in the tests (charts are built there with validate=True), not on every page view.
    return chart.properties(description=description).to_dict(validate=False)


def money_label(value: float) -> str:
    """1,200 -> "1.2k"; short enough for an axis."""
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}" if value else "0"


def value_chart(result: ValueDistribution, currency: str) -> dict:
    rows = [{"range": f"{money_label(b.low)}–{money_label(b.high)}", "order": i, "customers": b.customers,
             "value": round(b.value, 2)} for i, b in enumerate(result.bins)]
    chart = alt.Chart(alt.Data(values=rows)).mark_bar(color=BLUE).encode(
        x=alt.X("range:O", sort=alt.SortField("order"), title=f"{result.measure_label} ({currency})",
                axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("customers:Q", title="Customers", axis=alt.Axis(**COUNT_AXIS)),
        tooltip=[alt.Tooltip("range:O", title="Range"), alt.Tooltip("customers:Q", title="Customers"),
                 alt.Tooltip("value:Q", title=f"Value ({currency})", format=",.0f")],
    ).properties(width="container", height=HEIGHT)
    return _spec(chart, f"Customers per range of {result.measure_label.lower()}")


def cohort_chart(table: CohortTable, *, revenue: bool = False) -> dict:
    rows = []
    plotted = [c for c in table.cohorts if c.customers]
    for cohort in plotted:
        for cell in cohort.cells:
            share = cell.revenue_share if revenue else cell.share
            if share is None:
                continue
            rows.append({"cohort": cohort.label, "order": cohort.month.isoformat(), "month": cell.offset,
                         "share": round(share, 4), "customers": cell.customers, "size": cohort.customers})
    what = "Revenue against the first month" if revenue else "Share buying in the month"
    base = alt.Chart(alt.Data(values=rows)).encode(
        # Every month after the first on the axis, so a young base still shows how far it can go.
        x=alt.X("month:O", title="Months after the first order", scale=alt.Scale(domain=list(table.offsets)),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cohort:O", sort=alt.SortField("order"), title="First order in"),
    )
    color_scale = alt.Scale(scheme="blues", domain=[0, 1], clamp=True)
    heat = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=color_scale, title=what, legend=alt.Legend(format=".0%")),
        tooltip=[alt.Tooltip("cohort:O", title="First order in"), alt.Tooltip("month:O", title="Month"),
                 alt.Tooltip("share:Q", title=what, format=".0%"),
                 alt.Tooltip("customers:Q", title="Customers buying"), alt.Tooltip("size:Q", title="Cohort size")],
    )
    labels = base.mark_text(fontSize=10).encode(
        text=alt.Text("share:Q", format=".0%"),
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("#1d2430")),
    )
    chart = (heat + labels).properties(width="container", height=max(60, 26 * len(plotted)))
    kind = "revenue retention" if revenue else "customer retention"
    return _spec(chart, f"Heat map of {kind} by month of first order")


def funnel_chart(funnel: Funnel) -> dict:
    rows = [{"stage": s.label, "order": i, "reached": s.reached, "now": s.now} for i, s in enumerate(funnel.steps)]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("stage:O", sort=alt.SortField("order"), title=None),
        x=alt.X("reached:Q", title="Contacts who reached the stage", axis=alt.Axis(**COUNT_AXIS)),
    )
    bars = base.mark_bar(color=BLUE).encode(
        tooltip=[alt.Tooltip("stage:O", title="Stage"), alt.Tooltip("reached:Q", title="Reached it"),
                 alt.Tooltip("now:Q", title="There now")])
    text = base.mark_text(align="left", dx=4).encode(text="reached:Q")
    chart = (bars + text).properties(width="container", height=HEIGHT)
    return _spec(chart, "Lifecycle funnel: contacts who reached each stage")


def source_chart(quality: SourceQuality, currency: str) -> dict:
    rows = []
    for kind, sources in (("Contact source", quality.contact_sources), ("Deal source", quality.deal_sources)):
        for row in sources:
            if row.customers and row.mean_value is not None:
                rows.append({"source": row.source, "kind": kind, "customers": row.customers,
                             "value": round(row.mean_value, 2),
                             "retention": None if row.retention is None else round(row.retention, 4)})
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("customers:Q", title="Customers won", axis=alt.Axis(**COUNT_AXIS)),
        y=alt.Y("value:Q", title=f"Mean predicted 12-month value ({currency})"),
    )
    points = base.mark_circle(size=120, opacity=0.8).encode(
        color=alt.Color("kind:N", title=None, scale=alt.Scale(range=[BLUE, ORANGE])),
        tooltip=[alt.Tooltip("source:N", title="Source"), alt.Tooltip("kind:N", title="Kind"),
                 alt.Tooltip("customers:Q", title="Customers won"),
                 alt.Tooltip("value:Q", title="Mean predicted value", format=",.0f"),
                 alt.Tooltip("retention:Q", title="12-month retention", format=".0%")],
    )
    labels = base.mark_text(align="left", dx=8, fontSize=11).encode(text="source:N")
    chart = (points + labels).properties(width="container", height=HEIGHT)
    return _spec(chart, "Sources: customers won against their mean predicted 12-month value")


def tracking_chart(tracking: Tracking) -> dict:
    rows = []
    for week in tracking.weeks:
        for series in ("actual", "predicted"):
            rows.append({"week": week["week"], "series": "Actual" if series == "actual" else "Predicted",
                         "purchases": round(week[series], 2)})
    chart = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("week:Q", title="Week of the holdout window", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("purchases:Q", title="Repeat purchases"),
        color=alt.Color("series:N", title=None, scale=alt.Scale(range=[BLUE, ORANGE])),
        strokeDash=alt.StrokeDash("series:N", legend=None),
        tooltip=[alt.Tooltip("week:Q", title="Week"), alt.Tooltip("series:N", title="Series"),
                 alt.Tooltip("purchases:Q", title="Repeat purchases", format=",.1f")],
    ).properties(width="container", height=HEIGHT)
    return _spec(chart, "Weekly repeat purchases: actual against predicted")
