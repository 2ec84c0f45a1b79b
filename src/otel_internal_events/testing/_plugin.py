"""The pytest plugin, registered through the ``pytest11`` entry point.

It opens a scope around each test and closes it after the test's fixtures are torn down;
the matchers create the test's runtime lazily inside that scope, so a test that uses none
configures nothing (it costs two reads of the process-wide state). The ``internal_events``
fixture creates the runtime before the test runs.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from . import _scope

if TYPE_CHECKING:
    from ._capture import InternalEventsCapture

__all__ = [
    "internal_events",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
]

DEFINITIONS_INI = "internal_events_definitions"
#: The marker that names the class a test describes, as RSpec's ``describe SomeClass``.
DESCRIBED_CLASS_MARKER = "described_class"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        DEFINITIONS_INI,
        type="paths",
        default=[],
        help="otel-internal-events: definition folders for tests, relative to the ini file "
        "(OTEL_INTERNAL_EVENTS_DEFINITIONS wins; default: ./definitions)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{DESCRIBED_CLASS_MARKER}(name, cls=None): otel-internal-events: the class the test describes; "
        "trigger_internal_events(...).with_() expects its name as the category (as GitLab's described_class)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    config = item.config
    marker = item.get_closest_marker(DESCRIBED_CLASS_MARKER)
    described_class = None if marker is None else _described_class(marker)
    _scope.begin_test(item, lambda: [str(path) for path in config.getini(DEFINITIONS_INI)], described_class)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    _scope.begin_call(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    try:
        result = yield
    finally:
        problems = _scope.end_test(item)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    return result


def _described_class(marker: pytest.Mark) -> object:
    # A class goes by keyword: given alone as the positional argument, pytest would take the
    # marker as a decorator of that class.
    if len(marker.args) + len(marker.kwargs) == 1:
        if marker.args and isinstance(marker.args[0], str):
            return marker.args[0]
        if "cls" in marker.kwargs and isinstance(marker.kwargs["cls"], type):
            return marker.kwargs["cls"]
    raise TypeError(
        f"@pytest.mark.{DESCRIBED_CLASS_MARKER} takes a class name or cls=<class>, "
        f"got args={marker.args!r}, kwargs={marker.kwargs!r}"
    )


@pytest.fixture
def internal_events() -> InternalEventsCapture:
    """The test's internal events, set up before it runs (see :class:`InternalEventsCapture`).

    Use it when the code tracks events before the first matcher, to read ``.events`` or
    ``.metric_value(key_path)``, or to set up the runtime in a fixture of your own.
    """
    from ._capture import InternalEventsCapture
    from ._session import active_session

    capture = InternalEventsCapture(active_session())
    capture.runtime  # noqa: B018 - configures the runtime now
    return capture
