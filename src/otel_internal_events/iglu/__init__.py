"""The Iglu schemas we ship, laid out as a static Iglu repository: ``vendor/name/format/version``.

The two GitLab contexts every Snowplow event carries (``gitlab_standard``,
``gitlab_service_ping``), the Snowplow envelopes a collector checks (``payload_data``,
``contexts``, ``unstruct_event``) and the browser tracker's default ``web_page`` context.
Each file is a self-describing JSON Schema (draft 4, as Iglu uses) whose ``self`` block names
it; versions follow SchemaVer (``MODEL-REVISION-ADDITION``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

__all__ = [
    "CONTEXTS_SCHEMA",
    "GITLAB_SERVICE_PING_SCHEMA",
    "GITLAB_STANDARD_SCHEMA",
    "PAYLOAD_DATA_SCHEMA",
    "SELF_DESCRIBING_META_SCHEMA",
    "UNSTRUCT_EVENT_SCHEMA",
    "SchemaKey",
    "iter_schemas",
    "load_schema",
]

GITLAB_STANDARD_SCHEMA: Final = "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-7"
GITLAB_SERVICE_PING_SCHEMA: Final = "iglu:com.gitlab/gitlab_service_ping/jsonschema/1-0-1"
PAYLOAD_DATA_SCHEMA: Final = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
CONTEXTS_SCHEMA: Final = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT_EVENT_SCHEMA: Final = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
#: The ``$schema`` of every self-describing schema file.
SELF_DESCRIBING_META_SCHEMA: Final = (
    "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#"
)

_URI = re.compile(r"^iglu:([a-zA-Z0-9_.-]+)/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)/([0-9]+-[0-9]+-[0-9]+)$")


@dataclass(frozen=True, slots=True)
class SchemaKey:
    """One schema's address: ``iglu:vendor/name/format/version``."""

    vendor: str
    name: str
    format: str
    version: str

    @classmethod
    def parse(cls, uri: str) -> SchemaKey:
        """Parse an Iglu URI; :class:`ValueError` names what is wrong."""
        match = _URI.match(uri) if isinstance(uri, str) else None
        if match is None:
            raise ValueError(f"not an Iglu schema URI (iglu:vendor/name/format/MODEL-REVISION-ADDITION): {uri!r}")
        return cls(*match.groups())

    @property
    def uri(self) -> str:
        return f"iglu:{self.vendor}/{self.name}/{self.format}/{self.version}"

    @property
    def path(self) -> str:
        """The file's path inside a static Iglu repository."""
        return f"{self.vendor}/{self.name}/{self.format}/{self.version}"


def load_schema(uri: str) -> dict[str, Any]:
    """The shipped schema of ``uri``; :class:`LookupError` when we ship none."""
    key = SchemaKey.parse(uri)
    node = resources.files(__name__).joinpath(*key.path.split("/"))
    if not node.is_file():
        raise LookupError(f"no shipped Iglu schema {uri}")
    loaded: dict[str, Any] = json.loads(node.read_text("utf-8"))
    return loaded


def iter_schemas(root: str | Path | None = None) -> Iterator[tuple[SchemaKey, dict[str, Any]]]:
    """Every schema of a static Iglu repository folder (default: the shipped one), by its path."""
    base = Path(str(resources.files(__name__))) if root is None else Path(root)
    for path in sorted(base.glob("*/*/*/*")):
        if not path.is_file() or path.suffix in {".py", ".pyc"}:
            continue
        vendor, name, format_, version = path.relative_to(base).parts
        try:
            key = SchemaKey.parse(f"iglu:{vendor}/{name}/{format_}/{version}")
        except ValueError:
            continue
        yield key, json.loads(path.read_text("utf-8"))
