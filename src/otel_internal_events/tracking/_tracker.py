"""``track_event``: check one call, then hand its attributes to the recorder.

Production mode never raises into the host: a problem is logged once per (event, reason),
counted in ``internal_events.rejected{event,reason}``, and handled as GitLab does (unknown
event: nothing recorded; undeclared or mistyped property: dropped, event kept; missing
identifier: event kept, the unique rule skipped). Strict mode raises the typed error instead,
before anything is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.metrics import Meter

from ..definitions import DefinitionRegistry
from ..errors import TrackingError
from ..recording import EventRecorder
from ._checker import EventChecker

__all__ = ["Tracker"]


class Tracker:
    """Checks and records tracking calls against one definition registry."""

    def __init__(
        self,
        registry: DefinitionRegistry,
        recorder: EventRecorder,
        meter: Meter,
        *,
        strict: bool,
        clock: Callable[[], int],
    ) -> None:
        self.registry = registry
        self.strict = strict
        self.checker = EventChecker(registry, meter, strict=strict)
        self._recorder = recorder
        self._clock = clock

    def track(
        self,
        event: str,
        *,
        user: Any = None,
        namespace: Any = None,
        project: Any = None,
        additional_properties: Mapping[str, Any] | None = None,
        feature_enabled_by_namespace_ids: Iterable[int] | None = None,
        category: str | None = None,
        send_snowplow_event: bool = True,
    ) -> None:
        """Check and record one event; see the module docstring for what happens on problems."""
        checker = self.checker
        try:
            problems: list[TrackingError] = []
            attributes = checker.check(
                problems,
                event,
                user,
                namespace,
                project,
                additional_properties,
                feature_enabled_by_namespace_ids,
                category,
                send_snowplow_event,
            )
            if problems:
                checker.settle(problems)
            if attributes is not None:
                self._recorder.record(event, attributes, self._clock())
        except TrackingError:
            raise  # strict mode: settle() raised it
        except Exception as exc:
            if self.strict:
                raise
            checker.report(TrackingError(str(event), "", f"internal error: {exc!r}"), "internal_error")

    def fail(self, problem: TrackingError, reason: str, cause: BaseException | None = None) -> None:
        """A tracking failure found around a call (a hook, condition or lookup of the application
        that raised): raised in strict mode (from ``cause``), else logged once per (event,
        reason) and counted in ``internal_events.rejected`` under ``reason``."""
        if self.strict:
            raise problem from cause
        self.checker.report(problem, reason)
