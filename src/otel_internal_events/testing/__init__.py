"""Test helpers for code that tracks internal events: matchers and a pytest plugin.

The matchers re-create GitLab's RSpec ones (``trigger_internal_events``,
``increment_usage_metrics``) as context managers::

    from otel_internal_events.testing import increment_usage_metrics, trigger_internal_events

    def test_opening_the_web_ide_is_tracked():
        with trigger_internal_events("open_web_ide").with_(user=user, project=project) & increment_usage_metrics(
            "counts.count_total_open_web_ide"
        ):
            ide.open(user, project)

Under pytest (the plugin is registered when the package is installed) nothing else is needed:
the first matcher of a test configures a strict runtime whose Redis keys are the test's own,
and the test's end shuts it down and deletes them. Tests that use no matcher configure nothing.
The ``internal_events`` fixture sets the same up before the test runs and gives the events
tracked and metric values. See ``docs/testing.md``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._capture import InternalEventsCapture, capture_internal_events
    from ._change import Change, changes, increment_usage_metrics, not_increment_usage_metrics
    from ._events import (
        NotTriggerInternalEvents,
        TriggerInternalEvents,
        not_trigger_internal_events,
        trigger_internal_events,
    )
    from ._expectation import Expectation

# Imported on first use: the plugin module lives in this package, and pytest imports it in
# every session of a project that installs us, matchers used or not.
_LAZY = {
    "InternalEventsCapture": "._capture",
    "capture_internal_events": "._capture",
    "Change": "._change",
    "changes": "._change",
    "increment_usage_metrics": "._change",
    "not_increment_usage_metrics": "._change",
    "NotTriggerInternalEvents": "._events",
    "TriggerInternalEvents": "._events",
    "not_trigger_internal_events": "._events",
    "trigger_internal_events": "._events",
    "Expectation": "._expectation",
}

__all__ = [
    "Change",
    "Expectation",
    "InternalEventsCapture",
    "NotTriggerInternalEvents",
    "TriggerInternalEvents",
    "capture_internal_events",
    "changes",
    "increment_usage_metrics",
    "not_increment_usage_metrics",
    "not_trigger_internal_events",
    "trigger_internal_events",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
