"""The core's tables, one module per concept; importing this registers them all."""

from core.models.plugin_state import PluginState
from core.models.user import User

__all__ = ["PluginState", "User"]
