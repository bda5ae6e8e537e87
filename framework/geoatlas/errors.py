"""Exceptions raised by geoatlas. Every message is meant to be read by a person."""

from __future__ import annotations


class GeoatlasError(Exception):
    """Base class of all geoatlas errors."""


class UnknownComponentError(GeoatlasError, KeyError):
    """A component name that no loaded plugin provides."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NameCollisionError(GeoatlasError):
    """Two plugins provide the same name (or the same plugin id)."""


class ComponentImportError(GeoatlasError, ImportError):
    """A registered component could not be imported."""


class PluginLoadError(GeoatlasError):
    """Raised in strict mode when any plugin fails to load."""


class SpecError(GeoatlasError, ValueError):
    """A pipeline spec is invalid. ``problems`` lists one message per problem."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]
