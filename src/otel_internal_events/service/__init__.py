"""Services built on the package: the Snowplow micro collector (a local, validating collector).

The collector core (:class:`MicroCollector`, :class:`IgluRegistry`) is framework-free; the
stdlib HTTP front is :class:`SnowplowMicroServer`::

    with SnowplowMicroServer(port=0) as micro:
        configure(snowplow_endpoint=micro.url)
        ...
        micro.collector.counts()  # {"total": ..., "good": ..., "bad": ...}
"""

from ._iglu_registry import IgluRegistry
from ._micro_collector import MicroCollector, MicroResponse
from ._micro_http import SnowplowMicroServer

__all__ = ["IgluRegistry", "MicroCollector", "MicroResponse", "SnowplowMicroServer"]
