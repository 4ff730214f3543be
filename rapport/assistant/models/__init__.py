"""The assistant's models: tasks, rules and cadences in one module; meetings, e-mail and calendar
feeds in another; the runs an admin asked for from the follow-up rules page in a third."""

from .meetings import *  # noqa: F403
from .rule_runs import *  # noqa: F403
from .tasks import *  # noqa: F403
