"""Lead scoring: fit rules, engagement decay and the trained predictive score.

- `rules`: the ideal customer as weighted rules, judged over columns of leads.
- `engagement`: recent events with half-life decay.
- `features`, `predictive`: the calibrated model of a won deal and its reasons.
- `scores`: the one computation every lead goes through; `store` writes scores in bulk.
- `services`: score a new lead (and nurture a poor fit), score every open lead, train.
"""


def score_new_lead(lead) -> None:
    """Score one just-created lead (fit and engagement, and the predicted chance when a model is in
    use) and send a poor fit to nurture with the reason recorded (see `services.score_new_lead`)."""
    from .services import score_new_lead as score

    score(lead)
