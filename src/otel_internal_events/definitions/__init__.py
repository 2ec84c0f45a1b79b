"""Event and metric definitions: loading, checking, and the immutable registry.

The format is GitLab's (``events/<action>.yml``, ``metrics/**/*.yml``); the JSON Schemas in
``schemas/`` are the one source of truth for it.
"""

from ._loader import definition_files, load_definitions
from ._model import (
    BUILTIN_PROPERTIES,
    IDENTIFIERS,
    SUM_OPERATOR,
    AdditionalProperty,
    EventDefinition,
    EventRule,
    MetricDefinition,
)
from ._registry import DefinitionRegistry
from ._schema import event_schema, metric_schema

__all__ = [
    "BUILTIN_PROPERTIES",
    "IDENTIFIERS",
    "SUM_OPERATOR",
    "AdditionalProperty",
    "DefinitionRegistry",
    "EventDefinition",
    "EventRule",
    "MetricDefinition",
    "definition_files",
    "event_schema",
    "load_definitions",
    "metric_schema",
]
