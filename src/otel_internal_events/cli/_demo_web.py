"""``otel-internal-events demo --web``: a page of tracked buttons served by a gateway, with a
live panel of the metric values its events move.

The page is an ordinary page of a web application: it carries the page context (a page token
for the demo user, the project and namespace ids) and loads the browser client from the
gateway; its events go through the events API into the same checks and counters as every other
event.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..browser import page_context_tag, script_url

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..service import Gateway

__all__ = ["DEMO_USER", "demo_web_app"]

DEMO_USER = 1
DEMO_PROJECT = 7
DEMO_NAMESPACE = 1007
_PAGE = Path(__file__).with_name("demo_web.html")
_MERGED = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Merged</title></head>
<body><h1>Merged</h1><p>The merge was tracked as the page was left. <a href="/">Back</a></p></body></html>"""


def demo_web_app(gateway: Gateway) -> FastAPI:
    """The gateway's app for ``gateway``, plus the demo page at ``/`` and its metric values at
    ``/demo/metrics``. The gateway's settings must have a ``browser_secret``."""
    from fastapi.responses import HTMLResponse

    from ..service import create_app

    secret = gateway.settings.browser_secret
    if not secret:
        raise ValueError("the demo page needs settings with a browser_secret to sign its page tokens")
    app = create_app(gateway=gateway)
    template = _PAGE.read_text("utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        context = page_context_tag(
            user=DEMO_USER,
            project=DEMO_PROJECT,
            namespace=DEMO_NAMESPACE,
            secret=secret,
            now_s=gateway.settings.clock() / 1e9,
        )
        return template.replace("{{context}}", context).replace("{{script}}", html.escape(script_url()))

    @app.get("/demo/merged", response_class=HTMLResponse, include_in_schema=False)
    async def merged() -> str:
        return _MERGED

    runtime = gateway.runtime
    computed = sorted((m for m in runtime.registry.metrics.values() if m.is_computed), key=lambda m: m.key_path)

    @app.get("/demo/metrics", include_in_schema=False)
    def metrics() -> list[dict[str, Any]]:
        """Every computed metric's current value, by key path (a worker thread: Redis is read)."""
        values = runtime.reader().values(computed, runtime.today())
        return [{"key_path": key, "value": value} for key, value in values.items()]

    return app
