"""Errors the core raises where a user or operator must be told what to do."""


class KartotekaError(Exception):
    """Base class: the message is meant for a person, not a stack trace."""


class PluginError(KartotekaError):
    """A plugin cannot be loaded, checked or registered."""

    def __init__(self, plugin: str, message: str):
        super().__init__(f"Plugin '{plugin}': {message}")
        self.plugin = plugin
        self.reason = message


class StartupError(KartotekaError):
    """The application refuses to start; the message says which command fixes it."""


class SchemaOutOfDate(StartupError):
    """The database schema is behind the code and automatic migration is off."""


class ValidationError(KartotekaError):
    """A change was refused; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str] | str):
        if isinstance(errors, str):
            errors = {"_": errors}
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Forbidden(KartotekaError):
    """The actor may see the record but not make this change; nothing was written."""
