"""Any arguments at all: production never raises, strict raises only the documented typed errors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import otel_internal_events as oie
from otel_internal_events.conventions import REJECTED_COUNTER
from otel_internal_events.errors import TrackingError

EVENTS = ["create_merge_request", "merge_merge_request", "create_pipeline", "run_ci_job", "register_runner"]
PROPERTIES = ["label", "property", "value", "merge_strategy", "commit_count", "runner_type", "lines_changed"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # any size: 64 bits and beyond
    st.floats(),  # NaN and infinities included
    st.text(),  # lone surrogates included
    st.binary(max_size=8),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), scalars, max_size=2),
    st.builds(SimpleNamespace, id=scalars),
    st.builds(SimpleNamespace, id=scalars, namespace_id=scalars),
    st.builds(SimpleNamespace, id=scalars, namespace=st.one_of(scalars, st.builds(SimpleNamespace, id=scalars))),
)
properties = st.one_of(
    st.none(),
    values,
    st.dictionaries(st.one_of(st.sampled_from(PROPERTIES), st.text(max_size=8), st.integers()), values, max_size=4),
)
calls = st.fixed_dictionaries(
    {},
    optional={
        "user": values,
        "project": values,
        "namespace": values,
        "additional_properties": properties,
        "feature_enabled_by_namespace_ids": st.one_of(values, st.lists(values, max_size=3)),
        "category": values,
        "send_snowplow_event": values,
    },
)
events = st.one_of(st.sampled_from(EVENTS), st.text(max_size=30), scalars)


@pytest.mark.parametrize("strict", [False, True], ids=["production", "strict"])
def test_any_call_is_recorded_refused_with_a_typed_error_or_dropped(
    configure: Callable[..., Any], points: Callable[[str], Any], strict: bool
) -> None:
    configure(strict=strict, exporters=("none",))

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(event=events, arguments=calls)
    @example(event="no_such_event", arguments={})  # and one of each refusal, whatever the draw
    @example(event="create_pipeline", arguments={"project": 1.5})
    @example(event="create_pipeline", arguments={"project": 1, "additional_properties": {"secret": 1}})
    @example(event="create_pipeline", arguments={"project": 1, "additional_properties": {"value": float("nan")}})
    def call(event: Any, arguments: dict[str, Any]) -> None:
        if strict:
            with contextlib.suppress(TrackingError):  # anything else fails the test
                oie.track_internal_event(event, **arguments)
        else:
            assert oie.track_internal_event(event, **arguments) is None

    call()
    reasons = {dict(attributes)["reason"] for attributes in points(REJECTED_COUNTER)}
    assert "internal_error" not in reasons  # nothing failed but the checks
    if not strict:
        assert {"unknown_event", "invalid_type", "undeclared_property", "invalid_value"} <= reasons
