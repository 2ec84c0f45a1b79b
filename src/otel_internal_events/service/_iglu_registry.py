"""Validate self-describing JSON against Iglu schemas: the shipped ones, plus folders of your own.

Each schema is compiled twice: jsonschema-rs answers "valid?" for the common case (tens of
times faster), and jsonschema explains the problems of an invalid instance.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from ..errors import ConfigurationError
from ..iglu import SchemaKey, iter_schemas

__all__ = ["IgluRegistry"]


class IgluRegistry:
    """Schemas by Iglu URI, each compiled once; Iglu schemas are JSON Schema draft 4.

    ``extra_roots`` are static Iglu repository folders (``vendor/name/format/version`` files),
    for schemas of your own; they may override shipped ones.
    """

    def __init__(self, extra_roots: Iterable[str | Path] = ()) -> None:
        self._schemas: dict[str, dict[str, Any]] = {}
        self._validators: dict[str, tuple[Any, Draft4Validator]] = {}
        self._lock = threading.Lock()
        self._format_checker = FormatChecker()
        for key, schema in iter_schemas():
            self.add(schema, key)
        for root in extra_roots:
            if not Path(root).is_dir():
                raise ConfigurationError(f"Iglu schema folder not found: {root}")
            for key, schema in iter_schemas(root):
                self.add(schema, key)

    def add(self, schema: dict[str, Any], key: SchemaKey | None = None) -> str:
        """Register ``schema`` under its ``self`` block (which must match ``key`` when given); its URI."""
        described = schema.get("self") if isinstance(schema, dict) else None
        if not isinstance(described, dict):
            raise ConfigurationError(f"{key.uri if key else 'schema'}: no 'self' block (vendor, name, format, version)")
        try:
            own = SchemaKey(described["vendor"], described["name"], described["format"], described["version"])
            SchemaKey.parse(own.uri)
        except (KeyError, ValueError) as exc:
            raise ConfigurationError(f"{key.uri if key else 'schema'}: bad 'self' block: {exc}") from None
        if key is not None and key != own:
            raise ConfigurationError(f"{key.path}: its 'self' block says {own.uri}")
        try:
            Draft4Validator.check_schema(schema)
        except SchemaError as exc:
            raise ConfigurationError(f"{own.uri}: not a valid JSON Schema: {exc.message}") from None
        with self._lock:
            self._schemas[own.uri] = schema
            self._validators[own.uri] = (
                jsonschema_rs.Draft4Validator(schema),
                Draft4Validator(schema, format_checker=self._format_checker),
            )
        return own.uri

    @property
    def uris(self) -> list[str]:
        return sorted(self._schemas)

    def schema(self, uri: str) -> dict[str, Any] | None:
        return self._schemas.get(uri)

    def validate(self, uri: object, data: object) -> list[str]:
        """The problems of ``data`` as an instance of schema ``uri`` (empty when valid)."""
        if not isinstance(uri, str):
            return [f"schema must be an Iglu URI string, got {uri!r}"]
        validators = self._validators.get(uri)
        if validators is None:
            try:
                SchemaKey.parse(uri)
            except ValueError as exc:
                return [str(exc)]
            return [f"{uri}: schema not found in the Iglu registry"]
        fast, explaining = validators
        try:
            if fast.is_valid(data):
                return []
        except ValueError:  # an instance jsonschema-rs cannot take (say, a huge integer): ask jsonschema
            pass
        found = [(list(e.absolute_path), e.message) for e in explaining.iter_errors(data)]
        if not found:  # the two disagree on a format check: report jsonschema-rs's reasons
            found = [(list(e.instance_path), e.message) for e in fast.iter_errors(data)]
        return [
            f"{uri}: {'/'.join(map(str, path)) or '(root)'}: {message}"
            for path, message in sorted(found, key=lambda item: list(map(str, item[0])))
        ]
