"""Tracking data attributes in server-rendered HTML (reference §7.2), read with ``html.parser``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = ["Element", "elements", "no_tracking_failure", "tracking_failure"]

TRACKING = "data-event-tracking"
LOAD = "data-event-tracking-load"
ADDITIONAL = "data-event-additional"
#: Built-in additional properties and the attribute each travels in.
BUILTIN = {"label": "data-event-label", "property": "data-event-property", "value": "data-event-value"}
ALL_ATTRIBUTES = (TRACKING, LOAD, *BUILTIN.values(), ADDITIONAL)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Element:
    """A start tag: its name, attributes (``None`` for a bare attribute) and line."""

    tag: str
    attributes: dict[str, str | None]
    line: int

    def __str__(self) -> str:
        shown = " ".join(
            _attribute(name, value)
            for name, value in self.attributes.items()
            if name.startswith("data-event-") or name in ("id", "class")
        )
        return f"<{self.tag}{' ' + shown if shown else ''}> (line {self.line})"


def _attribute(name: str, value: str | None) -> str:
    if value is None:
        return name
    quote = "'" if '"' in value else '"'
    return f"{name}={quote}{value}{quote}"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append(Element(tag, dict(attrs), self.getpos()[0]))


def elements(html: object) -> list[Element]:
    """Every start tag of ``html`` (a string, bytes, ``__html__``, or an ElementTree element)."""
    parser = _Collector()
    parser.feed(_text(html))
    parser.close()
    return parser.found


def _text(html: object) -> str:
    if isinstance(html, str):
        return html
    if isinstance(html, bytes | bytearray):
        return bytes(html).decode("utf-8")
    dunder = getattr(html, "__html__", None)
    if callable(dunder):
        return str(dunder())
    if isinstance(html, ElementTree.Element):
        return ElementTree.tostring(html, encoding="unicode", method="html")
    raise TypeError(
        f"expected HTML as a string, bytes, an object with __html__ or an ElementTree element, "
        f"got {type(html).__name__} (pass str(element) for other parsers' elements)"
    )


def tracking_failure(html: object, event: str, *, on_load: bool, properties: Mapping[str, object]) -> str | None:
    """Why no element of ``html`` tracks ``event`` as described; None when one does."""
    expected = _expected_attributes(on_load, properties)
    extra = {k: v for k, v in properties.items() if k not in BUILTIN}
    found = elements(html)
    candidates = [element for element in found if element.attributes.get(TRACKING) == event]
    when = "on load" if on_load else "on click"
    wanted = f'expected an element with {TRACKING}="{event}" tracking {when}'
    shown = [f"{name}={value!r}" if value is not None else f"no {name}" for name, value in expected.items()]
    shown.append(f"{ADDITIONAL}={json.dumps(extra, sort_keys=True)}" if extra else f"no {ADDITIONAL}")
    wanted += f" ({', '.join(shown)})"
    if not candidates:
        tracking = [element for element in found if any(name in element.attributes for name in ALL_ATTRIBUTES)]
        if not tracking:
            return f"{wanted}, but no element has tracking attributes"
        listed = "\n".join(f"  {element}" for element in tracking[:10])
        return f"{wanted}, but there is none; elements with tracking attributes:\n{listed}"
    mismatches = []
    for element in candidates:
        differences = _differences(element, expected, extra)
        if not differences:
            return None
        mismatches.append(f"  {element}: " + "; ".join(differences))
    return f"{wanted}, but no element matches:\n" + "\n".join(mismatches[:10])


def _expected_attributes(on_load: bool, properties: Mapping[str, object]) -> dict[str, str | None]:
    expected: dict[str, str | None] = {LOAD: "true" if on_load else None}
    for key, attribute in BUILTIN.items():
        value = properties.get(key)
        expected[attribute] = None if value is None else str(value)
    return expected


def _differences(element: Element, expected: Mapping[str, str | None], extra: Mapping[str, object]) -> list[str]:
    differences = []
    for name, want in expected.items():
        got = element.attributes.get(name, _MISSING)
        if want is None and got is not _MISSING:
            differences.append(f"{name}: expected absent, found {got!r}")
        elif want is not None and got is _MISSING:
            differences.append(f"{name}: expected {want!r}, absent")
        elif want is not None and got != want:
            differences.append(f"{name}: expected {want!r}, found {got!r}")
    raw = element.attributes.get(ADDITIONAL)
    if raw is None:
        if extra:
            differences.append(f"{ADDITIONAL}: expected {json.dumps(dict(extra), sort_keys=True)}, absent")
        return differences
    try:
        found = json.loads(raw)
    except ValueError:
        differences.append(f"{ADDITIONAL}: not valid JSON: {raw!r}")
        return differences
    if found != dict(extra):
        want = json.dumps(dict(extra), sort_keys=True) if extra else "absent or {}"
        differences.append(f"{ADDITIONAL}: expected {want}, found {json.dumps(found, sort_keys=True)}")
    return differences


def no_tracking_failure(html: object, events: Collection[str]) -> str | None:
    """Why ``html`` does track (one of ``events``, or anything when empty); None when it does not."""
    found = elements(html)
    if events:
        offending = [element for element in found if element.attributes.get(TRACKING) in events]
        wanted = f"expected no element tracking {', '.join(map(repr, events))}"
    else:
        offending = [element for element in found if any(name in element.attributes for name in ALL_ATTRIBUTES)]
        wanted = "expected no element with tracking attributes"
    if not offending:
        return None
    listed = "\n".join(f"  {element}" for element in offending[:10])
    return f"{wanted}, but found {len(offending)}:\n{listed}"
