"""A realistic, reproducible stream of events for the demo product (Forge, code review and CI).

The stream is plain data, so that tests can compute the expected metric values from it
independently of the counters.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..definitions import DefinitionRegistry

__all__ = ["DemoEvent", "generate_stream"]

_PropertySpec = list[Any] | tuple[int, int]

#: event -> (relative frequency, {property: choices (list) or an int range (lo, hi)})
FORGE_TRAFFIC: Mapping[str, tuple[int, Mapping[str, _PropertySpec]]] = {
    "view_repository_file": (
        30,
        {
            "label": ["rendered", "raw", "blame", "history"],
            "property": ["branch", "tag", "commit"],
            "language": ["python", "ruby", "go", "javascript", "markdown"],
        },
    ),
    "run_ci_job": (
        25,
        {
            "label": ["success"] * 6 + ["failed", "canceled"],
            "property": ["docker", "shell", "kubernetes", "docker_autoscaler"],
            "runner_type": ["instance", "instance", "group", "project"],
            "duration_s": (5, 900),
        },
    ),
    "create_pipeline": (
        10,
        {
            "label": ["web", "push", "push", "schedule", "api", "merge_request_event"],
            "property": ["repository", "repository", "auto_devops", "parameter"],
            "value": (1, 40),
        },
    ),
    "finish_pipeline": (
        9,
        {
            "label": ["success", "success", "success", "failed", "canceled", "skipped"],
            "property": ["web", "push", "schedule", "api", "merge_request_event"],
            "duration_s": (30, 3600),
        },
    ),
    "create_merge_request_comment": (
        8,
        {
            "label": ["general", "diff_line", "diff_line", "suggestion", "reply"],
            "property": ["web", "web", "api", "email"],
        },
    ),
    "open_web_ide": (
        5,
        {
            "label": ["repository_tree", "file_view", "merge_request"],
            "property": ["branch", "tag", "commit"],
            "language": ["python", "ruby", "go", "javascript", "markdown"],
        },
    ),
    "create_merge_request": (
        4,
        {"label": ["web", "api", "push_option", "web_ide"], "property": ["draft", "ready"]},
    ),
    "submit_merge_request_review": (
        4,
        {"label": ["approved", "requested_changes", "commented"], "value": (0, 6)},
    ),
    "approve_merge_request": (3, {"label": ["web", "api", "quick_action"]}),
    "merge_merge_request": (
        3,
        {
            "label": ["manual", "auto_merge", "api"],
            "value": (1, 800),
            "merge_strategy": ["merge_commit", "squash", "fast_forward", "rebase_merge"],
            "commit_count": (1, 12),
        },
    ),
    "view_merge_request_dashboard": (
        3,
        {"label": ["assigned", "review_requested", "authored", "merged"]},
    ),
    "retry_ci_job": (
        2,
        {
            "label": ["user", "auto_retry"],
            "property": ["script_failure", "runner_system_failure", "stuck_or_timeout", "unknown"],
        },
    ),
    "commit_from_web_ide": (
        2,
        {
            "label": ["current_branch", "new_branch", "new_branch_with_merge_request"],
            "value": (1, 8),
            "lines_changed": (1, 400),
        },
    ),
    "apply_code_suggestion": (2, {"label": ["single", "batch"], "value": (1, 5)}),
    "download_repository_archive": (1, {"label": ["zip", "tar_gz", "tar_bz2", "tar"]}),
    "search_group_code": (2, {"label": ["basic", "exact", "regex"], "value": (0, 20)}),
    "register_runner": (
        1,
        {
            "label": ["docker", "shell", "kubernetes", "docker_autoscaler"],
            "property": ["linux", "windows", "macos"],
            "runner_type": ["group", "project"],
        },
    ),
    "connect_editor_extension": (
        1,
        {
            "label": ["vscode", "jetbrains", "neovim", "visual_studio"],
            "property": ["oauth", "personal_access_token"],
        },
    ),
}


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """One call the demo makes."""

    timestamp_ns: int
    event: str
    user: int | None
    project: int | None
    namespace: int | None
    properties: Mapping[str, str | int]


def generate_stream(
    registry: DefinitionRegistry,
    *,
    events: int,
    users: int,
    projects: int,
    start: dt.date,
    weeks: int,
    seed: int = 2026,
) -> list[DemoEvent]:
    """``events`` calls spread over ``weeks`` weeks from ``start``, in time order.

    Every project belongs to one of ``max(projects // 5, 1)`` groups (namespaces); users are
    drawn with a long tail, as real traffic is. Events of the registry that the Forge table
    does not know are generated from their definitions.
    """
    rng = random.Random(seed)
    namespaces = max(projects // 5, 1)
    project_namespace = {p: 1000 + p % namespaces for p in range(1, projects + 1)}
    names = sorted(registry.events)
    weights = [FORGE_TRAFFIC.get(name, (1, {}))[0] for name in names]
    start_ns = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp() * 1e9)
    span_ns = weeks * 7 * 86_400 * 10**9
    stamps = sorted(start_ns + rng.randrange(span_ns) for _ in range(events))
    stream = []
    for timestamp, name in zip(stamps, rng.choices(names, weights, k=events), strict=True):
        identifiers = registry.event(name).identifiers
        user = 1 + min(int(rng.paretovariate(1.2)) - 1, users - 1) if rng.random() < 0.5 else rng.randint(1, users)
        project = rng.randint(1, projects)
        stream.append(
            DemoEvent(
                timestamp_ns=timestamp,
                event=name,
                user=user if "user" in identifiers else None,
                project=project if "project" in identifiers else None,
                namespace=project_namespace[project] if "namespace" in identifiers else None,
                properties=dict(_properties(rng, registry, name)),
            )
        )
    return stream


def _properties(rng: random.Random, registry: DefinitionRegistry, name: str) -> Iterator[tuple[str, str | int]]:
    known = FORGE_TRAFFIC.get(name, (1, {}))[1]
    for key, prop in registry.event(name).additional_properties.items():
        spec = known.get(key)
        if isinstance(spec, list):
            yield key, rng.choice(spec)
        elif isinstance(spec, tuple):
            yield key, rng.randint(*spec)
        elif prop.type == "number":
            yield key, rng.randint(0, 100)
        else:
            yield key, f"{key}_{rng.randint(1, 5)}"
