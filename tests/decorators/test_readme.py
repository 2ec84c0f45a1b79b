"""The README's section on decorated functions runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import otel_internal_events as oie

from .conftest import value

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "# readme: decorators"


def readme_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (block,) = [block for block in blocks if block.startswith(MARKER)]
    return str(block)


def test_the_readme_example_tracks_both_events(configure: Any) -> None:
    configure()
    try:
        exec(compile(readme_example(), str(README), "exec"), {})
    finally:
        oie.set_id_lookup()
    assert value("counts.count_total_merge_merge_request") == 2
    assert value("counts.sum_value_from_merge_merge_request") == 12
    assert value("counts.count_total_squash_merges") == 1
