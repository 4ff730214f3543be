"""The assistant's models: tasks, rules and cadences in one module; meetings, e-mail and calendar feeds in the other."""

from .meetings import *  # noqa: F403
from .tasks import *  # noqa: F403
