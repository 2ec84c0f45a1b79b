"""Shared by the web framework tests: a user and a project as an application would have them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    id: int


@dataclass(frozen=True)
class Project:
    id: int
    namespace_id: int


ALICE = User(7)
FORGE = Project(3, namespace_id=30)
VIEW = "view_repository_file"
ARCHIVE = "download_repository_archive"
