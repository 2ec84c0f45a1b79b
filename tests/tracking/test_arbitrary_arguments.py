"""Any arguments at all: production never raises, strict raises only the documented typed errors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import otel_internal_events as oie
from conftest import read_points  # the tests' root conftest
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


def test_any_call_is_recorded_refused_with_a_typed_error_or_dropped(
    configure: Callable[..., Any], points: Callable[[str], Any]
) -> None:
    # Each drawn call is made in both modes: a production pipeline and a strict one kept
    # alive beside it (switched with activate), each counting its refusals on a reader of its own.
    production = configure(strict=False, exporters=("none",))
    strict_metrics = InMemoryMetricReader()
    strict_meters = MeterProvider(metric_readers=[strict_metrics])
    strict = oie.Runtime(
        production.settings.replace(strict=True), registry=production.registry, meter_provider=strict_meters
    )

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(event=events, arguments=calls)
    @example(event="no_such_event", arguments={})  # and one of each refusal, whatever the draw
    @example(event="create_pipeline", arguments={"project": 1.5})
    @example(event="create_pipeline", arguments={"project": 1, "additional_properties": {"secret": 1}})
    @example(event="create_pipeline", arguments={"project": 1, "additional_properties": {"value": float("nan")}})
    def call(event: Any, arguments: dict[str, Any]) -> None:
        oie.activate(production)
        assert oie.track_internal_event(event, **arguments) is None
        oie.activate(strict)
        with contextlib.suppress(TrackingError):  # anything else fails the test
            oie.track_internal_event(event, **arguments)

    try:
        call()
    finally:
        oie.activate(production)  # shut down by the fixture
        strict.shutdown()
        strict_meters.shutdown()
    production_reasons = {dict(attributes)["reason"] for attributes in points(REJECTED_COUNTER)}
    strict_reasons = {dict(attributes)["reason"] for attributes in read_points(strict_metrics, REJECTED_COUNTER)}
    for reasons in (production_reasons, strict_reasons):
        assert "internal_error" not in reasons  # nothing failed but the checks
    assert {"unknown_event", "invalid_type", "undeclared_property", "invalid_value"} <= production_reasons
