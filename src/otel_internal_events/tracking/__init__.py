"""Tracking: validate a call against its definition and hand it to the recorder."""

from ._tracker import Tracker
from ._validator import EventSpec, compile_specs, identifier_of, project_namespace

__all__ = ["EventSpec", "Tracker", "compile_specs", "identifier_of", "project_namespace"]
