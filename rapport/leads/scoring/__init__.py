"""Lead scoring: fit rules, engagement decay and the trained predictive score."""


def score_new_lead(lead) -> None:
    """Score one just-created lead (fit and engagement) and send a poor fit to nurture. Filled in by the scoring part."""
