"""An inner test project for pytester: small definitions, code that tracks, the real Redis."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

import otel_internal_events.testing as matchers

pytest_plugins = ["pytester"]

# The package loads its matchers on first use. Load them all now, in the outer session: an
# in-process pytester run drops the modules it imported when it ends, and a class loaded again
# later would not be the class of the matchers the next run composes with ``&``.
for _name in matchers.__all__:
    getattr(matchers, _name)

EVENTS = {
    "open_web_ide": """
        description: The web IDE is opened
        action: open_web_ide
        internal_events: true
        identifiers: [user, project, namespace]
        additional_properties:
          label: {description: Where it was opened from}
          value: {description: Files open}
          language: {description: The main language, type: string}
    """,
    "click_save": """
        description: The save button is clicked
        action: click_save
        internal_events: true
        identifiers: [user]
        additional_properties:
          label: {description: Which toolbar}
          property: {description: The document kind}
          value: {description: Bytes saved}
          source: {description: menu or shortcut, type: string}
    """,
    "view_page": """
        description: A page is viewed
        action: view_page
        internal_events: true
    """,
}
METRICS = {
    "count_total_open_web_ide": """
        key_path: counts.count_total_open_web_ide
        description: Web IDE openings
        value_type: number
        status: active
        time_frame: [7d, 28d, all]
        data_source: internal_events
        events:
          - name: open_web_ide
    """,
    "count_total_python_web_ide": """
        key_path: counts.count_total_python_web_ide
        description: Web IDE openings on Python projects
        value_type: number
        status: active
        time_frame: all
        data_source: internal_events
        events:
          - name: open_web_ide
            filter: {language: python}
    """,
    "count_distinct_user_id_from_open_web_ide": """
        key_path: redis_hll_counters.count_distinct_user_id_from_open_web_ide
        description: Users who opened the web IDE
        value_type: number
        status: active
        time_frame: [7d, 28d]
        data_source: internal_events
        events:
          - name: open_web_ide
            unique: user.id
    """,
    "count_total_view_page": """
        key_path: counts.count_total_view_page
        description: Page views
        value_type: number
        status: active
        time_frame: all
        data_source: internal_events
        events:
          - name: view_page
    """,
    "count_projects": """
        key_path: counts.projects
        description: Projects, from the database
        value_type: number
        status: active
        time_frame: all
        data_source: database
    """,
}
APP = """
    '''The inner project's code under test.'''

    import asyncio
    from dataclasses import dataclass

    import otel_internal_events as oie


    @dataclass
    class Namespace:
        id: int


    @dataclass
    class Project:
        id: int
        namespace: Namespace


    @dataclass
    class User:
        id: int


    ALICE = User(5)
    BOB = User(6)
    PROJECT = Project(7, Namespace(3))


    def open_web_ide(user=ALICE, project=PROJECT, **properties):
        oie.track_internal_event("open_web_ide", user=user, project=project, additional_properties=properties)
        return "opened"


    def save(user=ALICE, **properties):
        oie.track_internal_event("click_save", user=user, additional_properties=properties)


    def view():
        oie.track_internal_event("view_page")


    class WebIde(oie.InternalEventsTracking):
        def open(self, user=ALICE, project=PROJECT):
            self.track_internal_event("open_web_ide", user=user, project=project)


    async def open_web_ide_later(**kwargs):
        await asyncio.sleep(0)
        return open_web_ide(**kwargs)
"""
#: The inner runs need no Hypothesis. Its plugin imports ``hypothesis`` when a run ends, and an
#: in-process run drops the modules it imported: every run would import it again (seconds when
#: no bytecode is cached, since pytest rewrites the asserts of every plugin's package).
INNER_OPTIONS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
INI = """
    [pytest]
    internal_events_definitions = defs
    asyncio_default_fixture_loop_scope = function
"""


def write_definitions(folder: Path) -> None:
    """The inner project's definitions, in ``folder``."""
    (folder / "events").mkdir(parents=True)
    (folder / "metrics").mkdir()
    for name, text in EVENTS.items():
        (folder / "events" / f"{name}.yml").write_text(textwrap.dedent(text))
    for name, text in METRICS.items():
        (folder / "metrics" / f"{name}.yml").write_text(textwrap.dedent(text))


class InnerProject:
    """A pytester project with ``defs/`` (named by the ini option) and ``app.py``."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = pytester.path
        write_definitions(pytester.path / "defs")
        pytester.makefile(".ini", pytest=textwrap.dedent(INI))
        pytester.makepyfile(app=textwrap.dedent(APP))

    def run(self, test_code: str, *args: str) -> pytest.RunResult:
        """Write ``test_code`` as the inner test module and run pytest on it in this process."""
        self.pytester.makepyfile(test_inner=textwrap.dedent(test_code))
        return self.pytester.runpytest_inprocess(*INNER_OPTIONS, *args)

    def run_subprocess(self, test_code: str, *args: str) -> pytest.RunResult:
        """As :meth:`run`, in a new interpreter (the plugin found through its entry point)."""
        self.pytester.makepyfile(test_inner=textwrap.dedent(test_code))
        return self.pytester.runpytest_subprocess(*INNER_OPTIONS, *args, timeout=60)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No OTEL_INTERNAL_EVENTS_* nor REDIS_URL variable from the outer environment."""
    for name in list(os.environ):
        if name.startswith("OTEL_INTERNAL_EVENTS_") or name == "REDIS_URL":
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def project(pytester: pytest.Pytester, clean_environment: pytest.MonkeyPatch, redis_url: str) -> InnerProject:
    """The inner project, on the outer suite's Redis server (passed by URL)."""
    clean_environment.setenv("OTEL_INTERNAL_EVENTS_REDIS_URL", redis_url)
    return InnerProject(pytester)


def failure_lines(*texts: str) -> list[str]:
    """fnmatch patterns for the ``E   ...`` lines of a failure message, matched literally."""
    escape = str.maketrans({"[": "[[]", "]": "[]]", "*": "[*]", "?": "[?]"})
    return ["E*" + text.translate(escape) for text in texts]


def assert_fails_with(result: pytest.RunResult, *texts: str) -> None:
    """The inner run had one test, which failed, and its failure message has these lines, in order."""
    __tracebackhide__ = True
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(failure_lines(*texts))
