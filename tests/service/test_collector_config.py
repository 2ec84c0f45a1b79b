"""Collector configs generated from the definitions: structure, the CLI, and the real otelcol-contrib binary.

The structural tests parse the event names and kept attributes back out of the generated OTTL and
stanza expressions and compare them with the definitions. The binary tests run the filelog variant
end to end against a stdlib HTTP server standing in for the gateway.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from otel_internal_events.cli import main
from otel_internal_events.conventions import (
    CATEGORY,
    EVENT_NAME,
    FEATURE_ENABLED_BY_NAMESPACE_IDS,
    NAMESPACE_ID,
    PROJECT_ID,
    PROPERTY_PREFIX,
    SEND_SNOWPLOW,
    USER_ID,
)
from otel_internal_events.definitions import DefinitionRegistry, load_definitions
from otel_internal_events.service import (
    filelog_collector_config,
    otlp_collector_config,
    render_collector_config,
)

from .conftest import filelog_collector

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = {
    "otlp": ROOT / "collector-config" / "gateway-otlp.yaml",
    "filelog": ROOT / "collector-config" / "filelog.yaml",
}
#: What any event may carry, written out from the wire contract (not taken from the generator).
BASE = {EVENT_NAME, USER_ID, PROJECT_ID, NAMESPACE_ID, CATEGORY, FEATURE_ENABLED_BY_NAMESPACE_IDS, SEND_SNOWPLOW}
P = PROPERTY_PREFIX

SMALL_EVENTS = {
    "open_page": "identifiers: [user]\nadditional_properties:\n  label: {description: where}\n"
    "  page_kind: {description: what kind, type: string}\n",
    "close_page": "identifiers: [user, project]\n",
}
SMALL_METRIC = """\
key_path: counts.count_total_open_page
description: Pages opened
value_type: number
status: active
time_frame: [all]
data_source: internal_events
events:
  - name: open_page
"""


def write_tree(root: Path, metric: str = SMALL_METRIC) -> Path:
    for name, body in SMALL_EVENTS.items():
        path = root / "events" / f"{name}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"description: {name}\ninternal_events: true\naction: {name}\n{body}", "utf-8")
    (root / "metrics" / "counts_all").mkdir(parents=True)
    (root / "metrics" / "counts_all" / "open.yml").write_text(metric, "utf-8")
    return root


@pytest.fixture(scope="module")
def shipped() -> DefinitionRegistry:
    return load_definitions(ROOT / "definitions")


@pytest.fixture(scope="module", params=["shipped", "small"])
def registry(request: pytest.FixtureRequest, shipped: DefinitionRegistry, tmp_path_factory: Any) -> DefinitionRegistry:
    if request.param == "shipped":
        return shipped
    return load_definitions(write_tree(tmp_path_factory.mktemp("definitions")))


BUILDERS: dict[str, Callable[[DefinitionRegistry], dict[str, Any]]] = {
    "otlp": lambda registry: otlp_collector_config(registry),
    "filelog": lambda registry: filelog_collector_config(registry),
}


def declared(registry: DefinitionRegistry) -> dict[str, set[str]]:
    """Per event, the attributes its definition allows: the wire contract's base ones and its properties."""
    return {name: BASE | {P + p for p in event.additional_properties} for name, event in registry.events.items()}


# --- parsing the generated expressions back -------------------------------------------------------

_IS_MATCH = re.compile(r'IsMatch\((?P<target>[^,]+), "\^\(\?:(?P<names>[a-z0-9_|]+)\)\$"\)')
_KEEP_KEYS = re.compile(r"^keep_keys\(log\.attributes, (?P<keys>\[.*\])\)$")
_OTTL_EVENT = re.compile(
    r'^(?:log\.event_name == "(?P<named>[a-z0-9_]+)"'
    rf'|log\.event_name == "" and log\.attributes\["{re.escape(EVENT_NAME)}"\] == "(?P<attr>[a-z0-9_]+)")$'
)
_STANZA_EVENT = f'attributes["{EVENT_NAME}"]'


def otlp_filter_events(config: dict[str, Any]) -> dict[str, set[str]]:
    """The event names each drop condition lets through, by the field it reads."""
    found: dict[str, set[str]] = {}
    for condition in config["processors"]["filter/defined_events"]["logs"]["log_record"]:
        match = _IS_MATCH.search(condition)
        assert match, condition
        guard = 'event_name != ""' if match["target"] == "event_name" else 'event_name == ""'
        assert condition == f"{guard} and not {match[0]}", condition
        found[match["target"]] = set(match["names"].split("|"))
    return found


def otlp_kept(config: dict[str, Any]) -> dict[str, set[str]]:
    kept: dict[str, set[str]] = {}
    for group in config["processors"]["transform/declared_attributes"]["log_statements"]:
        events = set()
        for condition in group["conditions"]:
            match = _OTTL_EVENT.match(condition)
            assert match, condition
            events.add(match["named"] or match["attr"])
        assert len(group["conditions"]) == 2 and len(events) == 1, group  # by event_name, else by attribute
        (statement,) = group["statements"]
        keys = _KEEP_KEYS.match(statement)
        assert keys, statement
        (event,) = events
        assert event not in kept, f"two groups for {event}"
        kept[event] = set(json.loads(keys["keys"]))
    return kept


def stanza_operators(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    operators = config["receivers"]["filelog"]["operators"]
    by_id = {op["id"]: op for op in operators}
    assert len(by_id) == len(operators), "operator ids must be unique"
    return by_id


def filelog_filter_events(config: dict[str, Any]) -> set[str]:
    (expr,) = [op["expr"] for op in stanza_operators(config).values() if op["type"] == "filter"]
    prefix = f"{_STANZA_EVENT} not in "
    assert expr.startswith(prefix), expr
    return set(json.loads(expr.removeprefix(prefix)))


def filelog_kept(config: dict[str, Any]) -> dict[str, set[str]]:
    by_id = stanza_operators(config)
    (router,) = [op for op in by_id.values() if op["type"] == "router"]
    kept: dict[str, set[str]] = {}
    for route in router["routes"]:
        match = re.fullmatch(rf'{re.escape(_STANZA_EVENT)} == "([a-z0-9_]+)"', route["expr"])
        assert match, route
        retain = by_id[route["output"]]
        assert retain["type"] == "retain"
        fields = [re.fullmatch(r'attributes\["([^"]+)"\]', field) for field in retain["fields"]]
        assert all(fields), retain["fields"]
        kept[match[1]] = {field[1] for field in fields if field}
    return kept


# --- structure --------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["otlp", "filelog"])
def test_every_component_in_the_pipeline_is_defined_and_every_defined_one_is_used(
    variant: str, registry: DefinitionRegistry
) -> None:
    config = BUILDERS[variant](registry)
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline in config["service"]["pipelines"].values():
        for kind, names in used.items():
            names.update(pipeline.get(kind, []))
    for kind, names in used.items():
        assert names == set(config.get(kind, {})), kind
    assert list(config["service"]["pipelines"]) == ["logs"]


@pytest.mark.parametrize("variant", ["otlp", "filelog"])
def test_memory_limiter_runs_first_and_batch_last(variant: str, registry: DefinitionRegistry) -> None:
    processors = BUILDERS[variant](registry)["service"]["pipelines"]["logs"]["processors"]
    assert processors[0] == "memory_limiter"
    assert processors[-1] == "batch"


def test_otlp_filter_lets_through_exactly_the_defined_events(registry: DefinitionRegistry) -> None:
    found = otlp_filter_events(otlp_collector_config(registry))
    assert found == {"event_name": set(registry.events), f'attributes["{EVENT_NAME}"]': set(registry.events)}


def test_otlp_redaction_keeps_exactly_the_declared_attributes_of_each_event(registry: DefinitionRegistry) -> None:
    assert otlp_kept(otlp_collector_config(registry)) == declared(registry)


def test_filelog_filter_lets_through_exactly_the_defined_events(registry: DefinitionRegistry) -> None:
    assert filelog_filter_events(filelog_collector_config(registry)) == set(registry.events)


def test_filelog_redaction_keeps_exactly_the_declared_attributes_of_each_event(registry: DefinitionRegistry) -> None:
    assert filelog_kept(filelog_collector_config(registry)) == declared(registry)


def test_filelog_operators_all_lead_to_the_last_one(registry: DefinitionRegistry) -> None:
    config = filelog_collector_config(registry)
    operators = config["receivers"]["filelog"]["operators"]
    last = operators[-1]
    assert last["type"] == "noop" and "output" not in last
    by_id = stanza_operators(config)
    for op in operators:
        for target in [op.get("output")] + [route["output"] for route in op.get("routes", [])]:
            assert target is None or target in by_id, (op["id"], target)
    retains = [op for op in operators if op["type"] == "retain"]
    assert retains and all(op["output"] == last["id"] for op in retains)


def test_rendered_yaml_names_its_definitions_and_loads_back_unchanged(shipped: DefinitionRegistry) -> None:
    config = filelog_collector_config(shipped, include=["/srv/app/*.jsonl"], start_at="beginning", encoding="json")
    text = render_collector_config(config, variant="filelog", sources=["definitions", "more/definitions"])
    assert text.startswith("# Generated by `otel-internal-events collector-config --variant filelog`")
    assert "#   definitions, more/definitions\n" in text
    assert yaml.safe_load(text) == config
    assert config["receivers"]["filelog"]["include"] == ["/srv/app/*.jsonl"]
    assert config["receivers"]["filelog"]["start_at"] == "beginning"
    assert config["exporters"]["otlphttp"]["encoding"] == "json"


@pytest.mark.parametrize(
    ("gateway", "expected"),
    [
        ("http://gateway.internal:4318/", {"endpoint": "http://gateway.internal:4318"}),
        ("https://gw.example.com/v1/logs", {"logs_endpoint": "https://gw.example.com/v1/logs"}),
    ],
)
def test_gateway_url_becomes_the_exporter_endpoint(
    shipped: DefinitionRegistry, gateway: str, expected: dict[str, str]
) -> None:
    exporter = otlp_collector_config(shipped, gateway=gateway)["exporters"]["otlphttp"]
    assert {k: v for k, v in exporter.items() if k.endswith("endpoint")} == expected
    assert exporter["retry_on_failure"]["enabled"] is True
    assert exporter["sending_queue"]["enabled"] is True


def test_a_gateway_that_is_not_an_http_url_is_refused(shipped: DefinitionRegistry) -> None:
    with pytest.raises(ValueError, match="http"):
        filelog_collector_config(shipped, gateway="gateway:4318")


def test_definitions_without_events_are_refused() -> None:
    with pytest.raises(ValueError, match="no events"):
        otlp_collector_config(DefinitionRegistry([], []))


# --- the CLI ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["otlp", "filelog"])
def test_cli_prints_what_is_committed_in_collector_config(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["collector-config", "definitions", "--variant", variant])
    assert result.exit_code == 0, result.output
    assert result.stdout == COMMITTED[variant].read_text("utf-8"), "regenerate collector-config/ (see its README)"


@pytest.mark.parametrize("variant", ["otlp", "filelog"])
@pytest.mark.parametrize("existing", [True, False], ids=["existing_folder", "new_folder_with_slash"])
def test_cli_writes_the_variant_file_into_an_output_folder(
    variant: str, existing: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    folder = tmp_path / "out"
    if existing:
        folder.mkdir()
    output = str(folder) if existing else f"{folder}/"
    result = CliRunner().invoke(main, ["collector-config", "definitions", "--variant", variant, "--output", output])
    assert result.exit_code == 0, result.output
    (written,) = folder.iterdir()
    assert written.name == COMMITTED[variant].name
    assert written.read_text("utf-8") == COMMITTED[variant].read_text("utf-8")


def test_cli_exits_1_on_broken_definitions_and_writes_nothing(tmp_path: Path) -> None:
    broken = write_tree(tmp_path / "definitions", SMALL_METRIC + "    unique: projet.id\n")
    output = tmp_path / "out.yaml"
    result = CliRunner().invoke(main, ["collector-config", str(broken), "--output", str(output)])
    assert result.exit_code == 1
    assert "open.yml" in result.stderr and "projet.id" in result.stderr
    assert "no Collector config written" in result.stderr
    assert not output.exists()


def test_cli_refuses_filelog_options_for_the_otlp_variant() -> None:
    result = CliRunner().invoke(main, ["collector-config", str(ROOT / "definitions"), "--include", "*.jsonl"])
    assert result.exit_code == 2
    assert "--variant filelog" in result.stderr


# --- the real otelcol-contrib --------------------------------------------------------------------------


def test_otelcol_validate_accepts_the_filelog_config(otelcol: Path) -> None:
    run = subprocess.run([otelcol, "validate", "--config", COMMITTED["filelog"]], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_otelcol_validate_checks_components_for_real(otelcol: Path) -> None:
    # The trimmed binary has no otlp receiver nor filter/transform processors: validate must say so.
    run = subprocess.run([otelcol, "validate", "--config", COMMITTED["otlp"]], capture_output=True, text=True)
    assert run.returncode != 0
    assert re.search(r'unknown type: "(otlp|filter|transform)"', run.stderr), run.stderr


def _ns(when: dt.datetime) -> int:
    return int((when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) / dt.timedelta(microseconds=1)) * 1000


MERGE = {
    EVENT_NAME: "merge_merge_request",
    USER_ID: 12,
    PROJECT_ID: 34,
    NAMESPACE_ID: 56,
    CATEGORY: "MergeService",
    FEATURE_ENABLED_BY_NAMESPACE_IDS: [56, 78],
    SEND_SNOWPLOW: False,
    P + "label": "web",
    P + "value": 120,
    P + "merge_strategy": "squash",
    P + "secret": "hunter2",
    "email": "alice@example.com",
    "time": "2026-11-29T17:42:57.123456Z",
}
PIPELINE = {
    EVENT_NAME: "create_pipeline",
    USER_ID: 13,
    PROJECT_ID: 35,
    P + "label": "push",
    P + "property": "repository",
    P + "merge_strategy": "squash",  # declared by merge_merge_request, not by create_pipeline
    "time": "2026-11-30T08:00:00Z",
}
LAST_MERGE = {EVENT_NAME: "merge_merge_request", USER_ID: 14, P + "value": 1.5, "time": "2026-11-30T23:59:59.5+01:00"}
LINES = [
    json.dumps(MERGE),
    json.dumps({EVENT_NAME: "delete_everything", USER_ID: 1, "time": "2026-11-29T17:43:00Z"}),
    "INFO started, and this line is not JSON {",
    json.dumps({"level": "info", "msg": "an ordinary JSON log line"}),
    json.dumps(PIPELINE),
    json.dumps(LAST_MERGE),  # last: once it has arrived, every line before it has been read
]
EXPECTED = {
    12: (
        _ns(dt.datetime(2026, 11, 29, 17, 42, 57, 123456, tzinfo=dt.UTC)),
        {k: v for k, v in MERGE.items() if k not in (P + "secret", "email", "time")},
    ),
    13: (
        _ns(dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)),
        {k: v for k, v in PIPELINE.items() if k not in (P + "merge_strategy", "time")},
    ),
    14: (
        _ns(dt.datetime(2026, 11, 30, 22, 59, 59, 500000, tzinfo=dt.UTC)),
        {k: v for k, v in LAST_MERGE.items() if k != "time"},
    ),
}


class _GatewayStandIn(ThreadingHTTPServer):
    """Records every POST (body un-gzipped) and answers 200 with an empty body."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[tuple[str, str, bytes]] = []
        self.arrived = threading.Condition()


class _RecordingHandler(BaseHTTPRequestHandler):
    server: _GatewayStandIn

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with self.server.arrived:
            self.server.requests.append((self.path, self.headers.get("Content-Type", ""), body))
            self.server.arrived.notify_all()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _value(any_value: dict[str, Any]) -> Any:
    """An OTLP AnyValue, in its JSON mapping (where int64 is a string), as a Python value."""
    if not any_value:
        return None
    ((kind, value),) = any_value.items()
    if kind == "intValue":
        return int(value)
    if kind == "arrayValue":
        return [_value(v) for v in value.get("values", [])]
    return value


def _json_records(body: bytes) -> list[tuple[int, dict[str, Any], Any]]:
    return [
        (int(r["timeUnixNano"]), {a["key"]: _value(a["value"]) for a in r.get("attributes", [])}, r.get("body") or None)
        for rl in json.loads(body)["resourceLogs"]
        for sl in rl["scopeLogs"]
        for r in sl["logRecords"]
    ]


def _proto_records(body: bytes) -> list[tuple[int, dict[str, Any], Any]]:
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = ExportLogsServiceRequest.FromString(body)
    return [
        (r.time_unix_nano, {a.key: _value(MessageToDict(a.value)) for a in r.attributes}, MessageToDict(r.body) or None)
        for rl in request.resource_logs
        for sl in rl.scope_logs
        for r in sl.log_records
    ]


Delivery = tuple[list[tuple[str, str]], dict[int, tuple[int, dict[str, Any], Any]]]


def _deliver(otelcol: Path, folder: Path, encoding: str) -> Delivery:
    """Run the generated filelog config over LINES; the requests and the records by user id."""
    (folder / "events.jsonl").write_text("\n".join(LINES) + "\n", "utf-8")
    decode = _json_records if encoding == "json" else _proto_records
    server = _GatewayStandIn()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with filelog_collector(otelcol, folder, f"http://127.0.0.1:{server.server_address[1]}", encoding) as (
            collector,
            log_file,
        ):

            def done() -> bool:
                records = [r for _, _, body in server.requests for r in decode(body)]
                return collector.poll() is not None or any(attrs.get(USER_ID) == 14 for _, attrs, _ in records)

            with server.arrived:
                arrived = server.arrived.wait_for(done, timeout=60)
        exit_code = collector.returncode  # stopped gracefully: the batch and the sending queue flushed
    finally:
        server.shutdown()
        server.server_close()
    assert arrived and exit_code == 0, log_file.read_text("utf-8", "replace")[-4000:]
    records = [r for _, _, body in server.requests for r in decode(body)]
    by_user = {attrs[USER_ID]: (time, attrs, body) for time, attrs, body in records}
    assert len(by_user) == len(records), records
    return [(path, content_type) for path, content_type, _ in server.requests], by_user


@pytest.fixture(scope="module")
def deliveries(otelcol: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Delivery]:
    """What the collector delivered with each encoding; the two collectors run side by side."""
    folders = {encoding: tmp_path_factory.mktemp(f"filelog_{encoding}") for encoding in ("json", "proto")}
    with ThreadPoolExecutor(len(folders)) as pool:
        running = {encoding: pool.submit(_deliver, otelcol, folder, encoding) for encoding, folder in folders.items()}
        return {encoding: delivery.result() for encoding, delivery in running.items()}


@pytest.fixture(scope="module")
def delivered_json(deliveries: dict[str, Delivery]) -> Delivery:
    return deliveries["json"]


@pytest.fixture(scope="module")
def delivered_proto(deliveries: dict[str, Delivery]) -> Delivery:
    return deliveries["proto"]


def test_filelog_delivers_exactly_the_defined_event_lines(delivered_json: Delivery) -> None:
    _, records = delivered_json
    assert {user: attrs[EVENT_NAME] for user, (_, attrs, _) in records.items()} == {
        12: "merge_merge_request",
        13: "create_pipeline",
        14: "merge_merge_request",
    }


def test_filelog_removes_attributes_the_event_does_not_declare(delivered_json: Delivery) -> None:
    _, records = delivered_json
    assert not {"email", "time", P + "secret"} & set(records[12][1])
    assert P + "merge_strategy" in records[12][1]
    assert P + "merge_strategy" not in records[13][1]


def test_filelog_keeps_declared_attributes_with_their_json_types(delivered_json: Delivery) -> None:
    _, records = delivered_json
    for user, (_, expected) in EXPECTED.items():
        assert records[user][1] == expected
    assert type(records[12][1][USER_ID]) is int and type(records[14][1][P + "value"]) is float


def test_filelog_takes_the_event_time_from_the_time_field(delivered_json: Delivery) -> None:
    _, records = delivered_json
    assert {user: time for user, (time, _, _) in records.items()} == {u: t for u, (t, _) in EXPECTED.items()}


def test_filelog_does_not_forward_the_raw_line(delivered_json: Delivery) -> None:
    _, records = delivered_json
    assert [body for _, _, body in records.values()] == [None, None, None]


def test_filelog_posts_json_to_the_logs_path(delivered_json: Delivery) -> None:
    requests, _ = delivered_json
    assert requests and set(requests) == {("/v1/logs", "application/json")}


def test_filelog_proto_encoding_delivers_the_same_records(delivered_json: Delivery, delivered_proto: Delivery) -> None:
    requests, records = delivered_proto
    assert set(requests) == {("/v1/logs", "application/x-protobuf")}
    assert records == delivered_json[1]
