"""Lead routing and hand-off: assignment rules, round-robin, capacity and the first-response SLA."""


def route_new_lead(lead) -> None:
    """Give one just-created open lead its owner, team, reason and response deadline. Filled in by the routing part."""
