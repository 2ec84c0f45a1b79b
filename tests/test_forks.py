"""Configure in the parent, track in children: every event counted, whatever made the children.

The multiprocessing start methods and a pre-fork server are about processes, so they run in
fresh interpreters. One parent, configured once, makes children in every form in turn and
counts what they tracked after each form; it counts into the embedded Redis server it started,
which its children are told of and which stops when it ends. A gunicorn master configured
before it forks its workers counts into the test run's Redis.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
_prefixes = itertools.count()

FORMS = [
    "os.fork",
    "fork-Process",
    "fork-Pool",
    "fork-PoolClosed",
    "forkserver-Process",
    "forkserver-Pool",
    "spawn-Pool",
]

PARENT = textwrap.dedent(
    """
    import faulthandler, json, multiprocessing, os, sys, threading, traceback
    import redis
    import otel_internal_events as oie

    KEY = "{event_counters}_run_ci_job"


    def work(count):
        for i in range(count):
            oie.track_internal_event("run_ci_job", user=i, project=1, namespace=2)
        return count


    def hung():
        faulthandler.dump_traceback()  # where every thread of the parent waits
        os._exit(3)


    def told(_):
        return oie.get_runtime().settings.redis_url  # what the parent handed down


    def make_children(form, told_urls):
        if form == "os.fork":
            pid = os.fork()
            if pid == 0:  # a forked worker ending normally: its exit hooks run
                work(500)
                sys.exit(0)
            os.waitpid(pid, 0)
            return
        method, kind = form.split("-")
        context = multiprocessing.get_context(method)
        if kind == "Process":  # ends with os._exit, as every multiprocessing child
            process = context.Process(target=work, args=(500,))
            process.start()
            process.join()
        elif kind == "Pool":  # leaving the block terminates the workers (SIGTERM)
            with context.Pool(3) as pool:
                assert sum(pool.map(work, [25] * 20)) == 500
                if method != "fork":  # these start afresh: they only know what they were told
                    told_urls.update(pool.map(told, range(3)))
        else:  # PoolClosed: workers end when the pool is closed and joined
            pool = context.Pool(2, maxtasksperchild=3)
            assert sum(pool.map(work, [50] * 10)) == 500
            pool.close()
            pool.join()


    if __name__ == "__main__":
        runtime = oie.configure(definitions=(sys.argv[1],), schedule_delay_millis=60_000)  # no Redis URL
        counted = 0
        for form in sys.argv[2:]:
            told_urls = set()
            # A form that hangs ends the parent, saying where it waits, rather than the test run.
            # (Not faulthandler.dump_traceback_later: a forked child would hang at its exit.)
            watchdog = threading.Timer(60, hung)
            watchdog.daemon = True
            watchdog.start()
            try:
                make_children(form, told_urls)
                flushed = oie.flush()
                total = int(runtime.redis.get(KEY) or 0)
                result = {"counted": total - counted, "flushed": flushed, "told": sorted(told_urls)}
                counted = total
            except Exception:
                result = {"error": traceback.format_exc()}
            watchdog.cancel()
            print(json.dumps({"form": form, **result}), flush=True)
        pool = runtime.redis.connection_pool.connection_kwargs
        url = f"redis://{pool['host']}:{pool['port']}"
        print(json.dumps({"form": "parent", "url": url, "ping": redis.Redis.from_url(url).ping()}), flush=True)
    """
)


@pytest.fixture(scope="module")
def children(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """What the parent found after each form of children, by form; ``"parent"``: its server."""
    folder = tmp_path_factory.mktemp("forks")
    (folder / "parent.py").write_text(PARENT)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_INTERNAL_EVENTS_")}
    environment.pop("REDIS_URL", None)
    # Files, not pipes: children left behind by a form that hangs would keep pipes open.
    with (folder / "output").open("w") as output, (folder / "errors").open("w") as errors:
        parent = subprocess.Popen(
            [sys.executable, str(folder / "parent.py"), str(ROOT / "definitions"), *FORMS],
            env=environment,
            stdout=output,
            stderr=errors,
            start_new_session=True,  # its children are ended at the end of the module, should one hang
        )
        try:
            parent.wait(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()
    found: dict[str, Any] = {"returncode": parent.returncode}
    for line in (folder / "output").read_text().splitlines():
        result = json.loads(line)
        found[result.pop("form")] = result
    unfinished = next((form for form in FORMS if form not in found), None)
    ended = f"the parent never finished {unfinished}" if unfinished else "the parent finished every form"
    found["stderr"] = f"{ended}; its last output:\n{(folder / 'errors').read_text()[-3000:]}"
    yield found
    with contextlib.suppress(ProcessLookupError):  # what a form that hung, or the parent, left behind
        os.killpg(parent.pid, signal.SIGKILL)


@pytest.mark.parametrize("form", FORMS)
def test_every_event_tracked_in_a_child_is_counted(children: dict[str, Any], form: str) -> None:
    assert form in children, children["stderr"]
    result = children[form]
    assert "error" not in result, result["error"]
    assert result["counted"] == 500, children["stderr"]
    assert result["flushed"] is True


@pytest.mark.parametrize("form", ["forkserver-Pool", "spawn-Pool"])
def test_children_started_afresh_are_told_the_parents_embedded_server(children: dict[str, Any], form: str) -> None:
    assert form in children and "parent" in children, children["stderr"]
    assert children[form]["told"] == [children["parent"]["url"]]


def test_a_forked_child_exiting_does_not_stop_the_parents_embedded_server(children: dict[str, Any]) -> None:
    # The os.fork child ran its exit hooks first; every later form counted into the same server.
    assert "parent" in children, children["stderr"]
    assert children["parent"]["ping"] is True
    assert [children[form].get("counted") for form in FORMS[1:]] == [500] * (len(FORMS) - 1)


def test_the_embedded_server_stops_when_the_parent_ends(children: dict[str, Any]) -> None:
    assert children["returncode"] == 0, children["stderr"]
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(children["parent"]["url"], socket_connect_timeout=1).ping()


APP = textwrap.dedent(
    """
    import os
    import otel_internal_events as oie

    # Imported once, in the master (--preload): the workers are forked from it, configured.
    oie.configure(
        definitions=(os.environ["APP_DEFINITIONS"],),
        redis_url=os.environ["APP_REDIS_URL"],
        key_prefix=os.environ["APP_PREFIX"],
        schedule_delay_millis=60_000,
    )


    def app(environ, start_response):
        oie.track_internal_event("run_ci_job", user=os.getpid(), project=1, namespace=2)
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Worker", str(os.getpid()))])
        return [b"ok"]
    """
)


def no_control_socket() -> list[str]:
    """gunicorn's option to open no control socket, where it has one: the socket's default place
    is one per user, shared by every gunicorn started at the same time."""
    from gunicorn import config

    return ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in config.KNOWN_SETTINGS) else []


def test_a_pre_fork_server_configured_in_the_master_counts_what_its_workers_track(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path, free_port: int
) -> None:
    prefix = f"fork{next(_prefixes)}:"
    (tmp_path / "tracked_app.py").write_text(APP)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_INTERNAL_EVENTS_")}
    environment.update(APP_DEFINITIONS=str(ROOT / "definitions"), APP_REDIS_URL=redis_url, APP_PREFIX=prefix)
    gunicorn = [sys.executable, "-m", "gunicorn", *no_control_socket(), "--preload", "--workers", "3", "--bind"]
    server = subprocess.Popen(
        [*gunicorn, f"127.0.0.1:{free_port}", "tracked_app:app"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        workers = set()
        deadline = time.monotonic() + 30
        sent = 0
        with httpx.Client() as client:  # the sync workers close every connection: the workers take turns
            while sent < 60 or len(workers) < 2:  # one worker may take many turns in a row
                assert time.monotonic() < deadline
                try:
                    workers.add(client.get(f"http://127.0.0.1:{free_port}/").headers["x-worker"])
                    sent += 1
                except httpx.TransportError:
                    time.sleep(0.05)  # still starting
        server.send_signal(signal.SIGTERM)  # graceful: the workers finish and exit
        errors = server.communicate(timeout=60)[1]
        assert server.returncode == 0, errors[-3000:]
        assert len(workers) >= 2, "the requests did not spread over the workers"
        assert int(redis_client.get(f"{prefix}{{event_counters}}_run_ci_job") or 0) == sent, errors[-3000:]
    finally:
        if server.poll() is None:
            server.kill()
        keys = list(redis_client.scan_iter(match=f"{prefix}*"))
        if keys:
            redis_client.delete(*keys)
