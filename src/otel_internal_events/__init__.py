"""otel-internal-events: GitLab-style Internal Events on OpenTelemetry."""

from .errors import DefinitionError, DefinitionsInvalidError

__all__ = ["DefinitionError", "DefinitionsInvalidError"]
