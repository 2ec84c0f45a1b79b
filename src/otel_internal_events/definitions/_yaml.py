"""Safe YAML reading, fast; and field path -> line number for error messages.

PyYAML with libyaml keeps YAML 1.1 semantics (``yes`` is true), which is what GitLab's
Ruby loader (Psych) does, so definition files mean the same here as there. Its constructor
is slow for thousands of small files, so we compose nodes with the C parser, memoise the
implicit-tag resolution per load (keys and enum values repeat in every file), and build the
Python objects with a small converter. Anything unusual (merge keys) falls back to the
plain safe loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["YAML_LOADER", "LineFinder", "load_yaml"]

#: libyaml's safe loader when PyYAML was built with it, else the pure-Python one.
YAML_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_resolve = yaml.resolver.Resolver.resolve
_scalars = yaml.SafeLoader.yaml_constructors
_constructor = yaml.SafeLoader("")


class _MemoLoader(YAML_LOADER):  # type: ignore[misc]
    """The safe loader with implicit-tag resolution memoised in ``memo``."""

    memo: dict[tuple[Any, ...], str]

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit)
        try:
            return self.memo[key]
        except KeyError:
            tag: str = _resolve(self, kind, value, implicit)  # type: ignore[no-untyped-call]
            self.memo[key] = tag
            return tag


class _Fallback(Exception):
    """The document uses a feature the fast converter leaves to PyYAML."""


def _convert(node: yaml.Node) -> Any:
    kind = node.__class__
    if kind is yaml.ScalarNode:
        if node.tag == _STR:
            return node.value
        construct = _scalars.get(node.tag)
        if construct is None:
            raise _Fallback
        return construct(_constructor, node)
    if kind is yaml.MappingNode:
        result = {}
        for key, value in node.value:
            if key.tag == _MERGE:
                raise _Fallback
            result[_convert(key)] = _convert(value)
        return result
    return [_convert(item) for item in node.value]


def load_yaml(data: bytes, memo: dict[tuple[Any, ...], str]) -> Any:
    """Parse one YAML document safely; ``memo`` is shared by the files of one load."""
    loader = _MemoLoader(data)
    loader.memo = memo
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is None:
        return None
    try:
        return _convert(node)
    except (_Fallback, RecursionError):
        return yaml.load(data, Loader=YAML_LOADER)


class _UntaggedLoader(YAML_LOADER):  # type: ignore[misc]
    """Composes nodes without resolving their tags: a line lookup needs only the structure."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        return _STR


class LineFinder:
    """Maps a field path to its line, by composing the file's YAML nodes (only on error)."""

    def __init__(self, path: Path) -> None:
        try:
            self._root: yaml.Node | None = yaml.compose(path.read_bytes(), Loader=_UntaggedLoader)
        except (OSError, yaml.YAMLError):
            self._root = None

    def line_of(self, parts: list[str | int]) -> int | None:
        node = self._root
        line = None if node is None else node.start_mark.line + 1
        for part in parts:
            if isinstance(node, yaml.MappingNode):
                match = next((kv for kv in node.value if kv[0].value == part), None)
                if match is None:
                    break
                line = match[0].start_mark.line + 1
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line
