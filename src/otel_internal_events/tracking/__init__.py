"""Tracking: check a call against its definition and hand it to the recorder."""

from ._checker import EventChecker
from ._tracker import Tracker
from ._validator import EventSpec, compile_specs, identifier_of, project_namespace, unstorable

__all__ = ["EventChecker", "EventSpec", "Tracker", "compile_specs", "identifier_of", "project_namespace", "unstorable"]
