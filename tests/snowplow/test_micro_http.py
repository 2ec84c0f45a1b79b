"""The micro collector over HTTP: the tracker protocol endpoints, the REST API, limits, clean stop."""

from __future__ import annotations

import http.client
import json
import select
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Iterator

import pytest

from otel_internal_events.iglu import GITLAB_SERVICE_PING_SCHEMA
from otel_internal_events.service import MicroCollector, SnowplowMicroServer

from ._helpers import Micro

PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
EVENT = {"e": "se", "se_ca": "c", "se_ac": "a", "tv": "py-1.1.0"}


@pytest.fixture
def connection(snowplow_micro: Micro) -> Iterator[http.client.HTTPConnection]:
    """A keep-alive HTTP/1.1 connection to the micro collector."""
    client = http.client.HTTPConnection("127.0.0.1", snowplow_micro.server.port, timeout=5)
    yield client
    client.close()


def request(
    client: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes, http.client.HTTPResponse]:
    client.request(method, path, body=body, headers={"Content-Type": "application/json"})
    response = client.getresponse()
    return response.status, response.read(), response


def test_a_batched_post_is_accepted_and_kept(connection: http.client.HTTPConnection, snowplow_micro: Micro) -> None:
    body = json.dumps({"schema": PAYLOAD_DATA, "data": [EVENT, EVENT]}).encode()

    status, answer, _ = request(connection, "POST", "/com.snowplowanalytics.snowplow/tp2", body)

    assert (status, answer) == (200, b"ok")
    assert snowplow_micro.all() == {"total": 2, "good": 2, "bad": 0}


def test_a_get_to_i_answers_the_pixel(connection: http.client.HTTPConnection, snowplow_micro: Micro) -> None:
    status, answer, response = request(connection, "GET", "/i?" + urllib.parse.urlencode(EVENT))

    assert status == 200
    assert response.getheader("Content-Type") == "image/gif"
    assert answer.startswith(b"GIF89a")
    assert snowplow_micro.good()[0]["event"]["se_action"] == "a"


def test_malformed_json_is_answered_400_and_kept_as_bad(
    connection: http.client.HTTPConnection, snowplow_micro: Micro
) -> None:
    status, answer, _ = request(connection, "POST", "/com.snowplowanalytics.snowplow/tp2", b'{"schema": ')

    assert status == 400
    assert "malformed JSON" in json.loads(answer)["error"]
    (bad,) = snowplow_micro.bad()
    assert bad["collectorPayload"]["body"] == '{"schema": '


def test_a_body_over_the_size_limit_is_answered_413(
    connection: http.client.HTTPConnection, snowplow_micro: Micro
) -> None:
    snowplow_micro.server.collector.max_body_bytes = 100

    status, _, _ = request(connection, "POST", "/com.snowplowanalytics.snowplow/tp2", b"x" * 101)

    assert status == 413
    assert snowplow_micro.all()["total"] == 0
    # The refused body was drained, so the same connection still works.
    assert request(connection, "GET", "/micro/all")[0] == 200


def test_a_post_without_content_length_is_answered_411(snowplow_micro: Micro) -> None:
    with socket.create_connection(("127.0.0.1", snowplow_micro.server.port), timeout=5) as sock:
        sock.sendall(b"POST /com.snowplowanalytics.snowplow/tp2 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 411")


def test_garbage_never_stops_the_server(snowplow_micro: Micro) -> None:
    for junk in (b"\x00\x01\x02 nonsense\r\n\r\n", b"GET /micro/all HTTP/9.9\r\n\r\n", b"POST / HTTP/1.1\r\n"):
        with socket.create_connection(("127.0.0.1", snowplow_micro.server.port), timeout=5) as sock:
            sock.sendall(junk)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(1000)

    assert snowplow_micro.all() == {"total": 0, "good": 0, "bad": 0}


def test_the_rest_api_answers_micro_shapes(connection: http.client.HTTPConnection, snowplow_micro: Micro) -> None:
    good = {**EVENT, "co": json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
                                         "data": [{"schema": GITLAB_SERVICE_PING_SCHEMA,
                                                   "data": {"data_source": "redis", "event_name": "a"}}]})}  # fmt: skip
    body = json.dumps({"schema": PAYLOAD_DATA, "data": [good, {**EVENT, "se_ac": ""}]}).encode()
    request(connection, "POST", "/com.snowplowanalytics.snowplow/tp2", body)

    assert snowplow_micro.all() == {"total": 2, "good": 1, "bad": 1}
    (event,) = snowplow_micro.good()
    assert set(event) == {"event", "eventType", "schema", "contexts", "rawEvent"}
    assert event["event"]["contexts"]["data"][0]["data"] == {"data_source": "redis", "event_name": "a"}
    (bad,) = snowplow_micro.bad()
    assert set(bad) == {"collectorPayload", "rawEvent", "errors"}
    assert bad["errors"] == ["se_ac: required for e=se"]
    status, filtered, _ = request(connection, "POST", "/micro/good", json.dumps({"contexts": ["nope"]}).encode())
    assert (status, json.loads(filtered)) == (200, [])
    assert json.loads(request(connection, "GET", "/micro/reset")[1]) == {"total": 0, "good": 0, "bad": 0}
    assert snowplow_micro.all() == {"total": 0, "good": 0, "bad": 0}


def test_a_bounded_collector_says_over_http_how_many_it_dropped() -> None:
    with SnowplowMicroServer(port=0, collector=MicroCollector(max_events=2)) as server:
        client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        events = [{**EVENT, "se_la": str(number)} for number in range(5)]
        body = json.dumps({"schema": PAYLOAD_DATA, "data": events}).encode()

        assert request(client, "POST", "/com.snowplowanalytics.snowplow/tp2", body)[0] == 200

        assert json.loads(request(client, "GET", "/micro/all")[1]) == {"total": 5, "good": 5, "bad": 0, "dropped": 3}
        kept = json.loads(request(client, "GET", "/micro/good")[1])
        assert [event["event"]["se_label"] for event in kept] == ["3", "4"]
        client.close()


def test_responses_allow_browsers(connection: http.client.HTTPConnection) -> None:
    status, _, response = request(connection, "OPTIONS", "/com.snowplowanalytics.snowplow/tp2")

    assert status == 204
    assert response.getheader("Access-Control-Allow-Origin") == "*"


def test_stop_closes_open_keep_alive_connections() -> None:
    server = SnowplowMicroServer(port=0, collector=MicroCollector()).start()
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    client.request("GET", "/micro/all")
    client.getresponse().read()

    server.stop()

    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        client.request("GET", "/micro/all")
        client.getresponse().read()
    client.close()
    with pytest.raises(ConnectionRefusedError):  # refused at once: nothing listens, no wait involved
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()


@pytest.fixture
def command() -> Iterator[Callable[..., tuple[subprocess.Popen[str], int]]]:
    """``command(*options)``: ``otel-internal-events snowplow-micro --port 0 *options`` started; (it, its port)."""
    started: list[subprocess.Popen[str]] = []

    def start(*options: str) -> tuple[subprocess.Popen[str], int]:
        code = "from otel_internal_events.cli import main; main()"
        process = subprocess.Popen(
            [sys.executable, "-c", code, "snowplow-micro", "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)  # a bounded wait for the first line
        assert ready, "the command printed nothing"
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        return process, int(line.rsplit(":", 1)[1])

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def test_the_command_serves_until_stopped(command: Callable[..., tuple[subprocess.Popen[str], int]]) -> None:
    process, port = command()
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    client.request("GET", "/i?" + urllib.parse.urlencode(EVENT))
    assert client.getresponse().status == 200
    client.close()

    process.terminate()
    output, _ = process.communicate(timeout=10)

    assert "stopped: 1 events, 1 good, 0 bad" in output
    assert process.returncode == 0  # SIGTERM stops it cleanly


def test_the_command_keeps_at_most_max_events(command: Callable[..., tuple[subprocess.Popen[str], int]]) -> None:
    _, port = command("--max-events", "1")
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for action in ("first", "second"):
        status, _, _ = request(client, "GET", "/i?" + urllib.parse.urlencode({**EVENT, "se_ac": action}))
        assert status == 200

    assert json.loads(request(client, "GET", "/micro/all")[1]) == {"total": 2, "good": 2, "bad": 0, "dropped": 1}
    (kept,) = json.loads(request(client, "GET", "/micro/good")[1])
    assert kept["event"]["se_action"] == "second"
    client.close()
