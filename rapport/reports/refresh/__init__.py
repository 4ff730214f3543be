"""The insights refresh: load orders and events, run `rapport.insights`, store the scores.

`refresh_scores` does the work (the `rapport insights refresh` command and the background task
call it); `request_refresh` is the "Refresh now" button's service.
"""

from .requests import request_refresh
from .run import check_as_of, health_weights, insights_config, refresh_scores

__all__ = ["check_as_of", "health_weights", "insights_config", "refresh_scores", "request_refresh"]
