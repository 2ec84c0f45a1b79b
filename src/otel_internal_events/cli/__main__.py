"""``python -m otel_internal_events.cli``: the ``otel-internal-events`` command."""

from ._main import main

main()
