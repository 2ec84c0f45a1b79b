"""The Iglu schemas shipped in the package: self-describing, SchemaVer, valid, and what they accept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

import otel_internal_events.iglu as iglu
from otel_internal_events.errors import ConfigurationError
from otel_internal_events.iglu import (
    GITLAB_SERVICE_PING_SCHEMA,
    GITLAB_STANDARD_SCHEMA,
    SELF_DESCRIBING_META_SCHEMA,
    SchemaKey,
    iter_schemas,
    load_schema,
)
from otel_internal_events.service import IgluRegistry

SHIPPED = list(iter_schemas())


def test_the_two_gitlab_contexts_ship_at_their_iglu_paths() -> None:
    root = Path(iglu.__file__).parent

    assert (root / "com.gitlab/gitlab_standard/jsonschema/1-1-7").is_file()
    assert (root / "com.gitlab/gitlab_service_ping/jsonschema/1-0-1").is_file()
    assert {key.uri for key, _ in SHIPPED} >= {GITLAB_STANDARD_SCHEMA, GITLAB_SERVICE_PING_SCHEMA}


@pytest.mark.parametrize(("key", "schema"), SHIPPED, ids=[key.uri for key, _ in SHIPPED])
def test_each_shipped_schema_is_self_describing_and_valid(key: SchemaKey, schema: dict[str, object]) -> None:
    assert schema["$schema"] == SELF_DESCRIBING_META_SCHEMA
    assert schema["self"] == {"vendor": key.vendor, "name": key.name, "format": "jsonschema", "version": key.version}
    assert re.fullmatch(r"[1-9][0-9]*-[0-9]+-[0-9]+", key.version)  # SchemaVer MODEL-REVISION-ADDITION
    assert isinstance(schema.get("description"), str)
    Draft4Validator.check_schema(schema)


def test_load_schema_reads_a_shipped_schema_and_refuses_others() -> None:
    assert load_schema(GITLAB_SERVICE_PING_SCHEMA)["self"]["name"] == "gitlab_service_ping"
    with pytest.raises(LookupError):
        load_schema("iglu:com.example/nothing/jsonschema/1-0-0")
    with pytest.raises(ValueError, match="not an Iglu schema URI"):
        load_schema("com.gitlab/gitlab_standard")


def test_only_environment_is_required_by_the_standard_context() -> None:
    registry = IgluRegistry()

    assert registry.validate(GITLAB_STANDARD_SCHEMA, {"environment": "production"}) == []
    assert registry.validate(GITLAB_STANDARD_SCHEMA, {}) == [
        f"{GITLAB_STANDARD_SCHEMA}: (root): 'environment' is a required property"
    ]


def test_the_standard_context_refuses_a_raw_numeric_user_id_and_unknown_fields() -> None:
    problems = IgluRegistry().validate(GITLAB_STANDARD_SCHEMA, {"environment": "production", "user_id": 42, "x": 1})

    assert any("user_id: 42 is not of type 'string', 'null'" in p for p in problems)
    assert any("Additional properties are not allowed ('x' was unexpected)" in p for p in problems)


def test_the_service_ping_context_needs_a_known_source_and_an_event() -> None:
    registry = IgluRegistry()

    assert registry.validate(GITLAB_SERVICE_PING_SCHEMA, {"data_source": "redis_hll", "event_name": "x"}) == []
    problems = registry.validate(GITLAB_SERVICE_PING_SCHEMA, {"data_source": "database"})
    assert len(problems) == 2


def test_a_registry_takes_schemas_of_your_own_from_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "com.example" / "checkout" / "jsonschema"
    folder.mkdir(parents=True)
    schema = {
        "$schema": SELF_DESCRIBING_META_SCHEMA,
        "self": {"vendor": "com.example", "name": "checkout", "format": "jsonschema", "version": "1-0-0"},
        "type": "object",
        "required": ["total"],
    }
    (folder / "1-0-0").write_text(json.dumps(schema))

    registry = IgluRegistry([tmp_path])

    assert registry.validate("iglu:com.example/checkout/jsonschema/1-0-0", {"total": 3}) == []
    assert registry.validate("iglu:com.example/checkout/jsonschema/1-0-0", {}) != []


def test_a_schema_whose_self_block_disagrees_with_its_path_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "com.example" / "checkout" / "jsonschema"
    folder.mkdir(parents=True)
    schema = {"self": {"vendor": "com.example", "name": "cart", "format": "jsonschema", "version": "1-0-0"}}
    (folder / "1-0-0").write_text(json.dumps(schema))

    with pytest.raises(ConfigurationError, match=r"its 'self' block says iglu:com\.example/cart"):
        IgluRegistry([tmp_path])


def test_an_unknown_schema_is_reported_not_raised() -> None:
    assert IgluRegistry().validate("iglu:com.example/none/jsonschema/1-0-0", {}) == [
        "iglu:com.example/none/jsonschema/1-0-0: schema not found in the Iglu registry"
    ]
