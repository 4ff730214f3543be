"""The leads app's models, one module per part (each helper of the app owns one)."""

from .capture import *  # noqa: F403
from .lead import *  # noqa: F403
from .routing import *  # noqa: F403
from .scoring import *  # noqa: F403
