"""The typed exceptions of otel-internal-events.

Two families:

* :class:`DefinitionError` and its subclasses come from loading and checking definition
  files. They always name the file and the field path, and :class:`DefinitionsInvalidError`
  carries every problem found in one pass.
* :class:`TrackingError` and its subclasses come from ``track_internal_event``. In
  production they never reach the caller (they are logged once and counted); in strict mode
  they are raised so that tests and development catch bad calls at once.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ConfigurationError",
    "DefinitionError",
    "DefinitionsInvalidError",
    "InternalEventsError",
    "InvalidPropertyError",
    "InvalidPropertyTypeError",
    "InvalidPropertyValueError",
    "MissingExtraError",
    "MissingIdentifierError",
    "PageTokenError",
    "TrackingError",
    "UnknownEventError",
    "UnknownMetricError",
]


class InternalEventsError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(InternalEventsError):
    """A setting is unknown or has a value of the wrong kind."""


class MissingExtraError(ConfigurationError, ImportError):
    """A feature was asked for whose optional dependencies are not installed."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(f"{feature} needs the '{module}' package: pip install 'otel-internal-events[{extra}]'")
        self.extra = extra


class PageTokenError(InternalEventsError):
    """A browser page token is malformed, forged or expired (the events API answers 401)."""


class DefinitionError(InternalEventsError):
    """One problem in one definition file.

    ``path`` is the file, ``field`` the dotted field path inside it (``events[0].unique``),
    empty when the problem concerns the whole file. ``line`` is set when it is known.
    """

    def __init__(self, path: str, field: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.field = field
        self.message = message
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form, used by ``validate --format json``."""
        return {"file": self.path, "field": self.field, "line": self.line, "message": self.message}


class DefinitionsInvalidError(DefinitionError):
    """A definition tree has problems; ``errors`` lists all of them, sorted by file."""

    def __init__(self, errors: Sequence[DefinitionError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.path, first.field, first.message, first.line)

    def __str__(self) -> str:
        count = len(self.errors)
        lines = "\n".join(f"  {error}" for error in self.errors)
        return f"{count} problem{'s' if count != 1 else ''} in definitions:\n{lines}"


class UnknownMetricError(InternalEventsError, KeyError):
    """A metric key path was asked for that no definition declares."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown metric"


class TrackingError(InternalEventsError):
    """A ``track_internal_event`` call was rejected (fully or in part).

    ``event`` is the event name and ``field`` the argument or property at fault.
    ``reason`` is a short, stable code used as the ``reason`` attribute of the
    ``internal_events.rejected`` counter.
    """

    reason = "invalid"

    def __init__(self, event: str, field: str, message: str) -> None:
        self.event = event
        self.field = field
        self.message = message
        super().__init__(f"event '{event}': {field}: {message}" if field else f"event '{event}': {message}")


class UnknownEventError(TrackingError):
    """The event has no definition: nothing is recorded."""

    reason = "unknown_event"


class InvalidPropertyError(TrackingError):
    """An additional property is not declared by the event: it is dropped, the event kept."""

    reason = "undeclared_property"


class InvalidPropertyTypeError(TrackingError):
    """A property or identifier has a value of the wrong type."""

    reason = "invalid_type"


class InvalidPropertyValueError(TrackingError):
    """A property or identifier has a value of the right type that cannot be stored: text that
    is not valid Unicode (a lone surrogate), a number that is not finite, or an integer outside
    64 bits."""

    reason = "invalid_value"


class MissingIdentifierError(TrackingError):
    """A metric of the event counts an identifier uniquely and the call did not give it."""

    reason = "missing_identifier"
