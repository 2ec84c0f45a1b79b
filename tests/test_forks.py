"""Configure in the parent, track in children: every event counted, whatever made the children.

Each form runs in a fresh interpreter of its own (the multiprocessing start methods and a
pre-fork server are about processes), against the session's Redis.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
_prefixes = itertools.count()

PARENT = textwrap.dedent(
    """
    import multiprocessing, os, sys
    import otel_internal_events as oie

    url, prefix, form = sys.argv[1], sys.argv[2], sys.argv[3]


    def work(count):
        for i in range(count):
            oie.track_internal_event("run_ci_job", user=i, project=1, namespace=2)
        return count


    if __name__ == "__main__":
        oie.configure(definitions=(sys.argv[4],), redis_url=url, key_prefix=prefix, schedule_delay_millis=60_000)
        if form == "os.fork":
            pid = os.fork()
            if pid == 0:
                work(500)
                sys.exit(0)
            os.waitpid(pid, 0)
        else:
            method, kind = form.split("-")
            context = multiprocessing.get_context(method)
            if kind == "Process":  # ends with os._exit, as every multiprocessing child
                process = context.Process(target=work, args=(500,))
                process.start()
                process.join()
            elif kind == "Pool":  # leaving the block terminates the workers (SIGTERM)
                with context.Pool(3) as pool:
                    assert sum(pool.map(work, [25] * 20)) == 500
            else:  # PoolClosed: workers end when the pool is closed and joined
                pool = context.Pool(2, maxtasksperchild=3)
                assert sum(pool.map(work, [50] * 10)) == 500
                pool.close()
                pool.join()
        assert oie.flush()
    """
)


@pytest.mark.parametrize(
    "form",
    [
        "os.fork",
        "fork-Process",
        "fork-Pool",
        "fork-PoolClosed",
        "forkserver-Process",
        "forkserver-Pool",
        "spawn-Pool",
    ],
)
def test_every_event_tracked_in_a_child_is_counted(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path, form: str
) -> None:
    prefix = f"fork{next(_prefixes)}:"
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_INTERNAL_EVENTS_")}
    run = subprocess.run(
        [sys.executable, str(script), redis_url, prefix, form, str(ROOT / "definitions")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        assert run.returncode == 0, run.stderr[-3000:]
        assert int(redis_client.get(f"{prefix}{{event_counters}}_run_ci_job") or 0) == 500, run.stderr[-3000:]
    finally:
        keys = list(redis_client.scan_iter(match=f"{prefix}*"))
        if keys:
            redis_client.delete(*keys)


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


def test_a_pre_fork_server_configured_in_the_master_counts_what_its_workers_track(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path, free_port: int
) -> None:
    prefix = f"fork{next(_prefixes)}:"
    (tmp_path / "tracked_app.py").write_text(APP)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_INTERNAL_EVENTS_")}
    environment.update(APP_DEFINITIONS=str(ROOT / "definitions"), APP_REDIS_URL=redis_url, APP_PREFIX=prefix)
    gunicorn = [sys.executable, "-m", "gunicorn", "--preload", "--workers", "3", "--bind"]
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
        while sent < 60:
            assert time.monotonic() < deadline
            try:
                with httpx.Client() as client:  # a new connection each: the workers take turns
                    workers.add(client.get(f"http://127.0.0.1:{free_port}/").headers["x-worker"])
                sent += 1
            except httpx.TransportError:
                time.sleep(0.05)  # still starting
        server.send_signal(signal.SIGTERM)  # graceful: the workers finish and exit
        errors = server.communicate(timeout=60)[1]
        assert server.returncode == 0, errors[-3000:]
        assert len(workers) >= 2, "the requests did not spread over the workers"
        assert int(redis_client.get(f"{prefix}{{event_counters}}_run_ci_job") or 0) == 60, errors[-3000:]
    finally:
        if server.poll() is None:
            server.kill()
        keys = list(redis_client.scan_iter(match=f"{prefix}*"))
        if keys:
            redis_client.delete(*keys)
