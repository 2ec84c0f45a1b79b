"""``@tracks_internal_event``: track an event when a decorated function has done its work.

Everything that can be worked out once is worked out when the decorator is applied: how to
read the call's arguments, how each identifier and property is resolved, the check of the
event's definition. A call then costs the function, one binding of its arguments into a dict,
the resolvers, and the tracker's own check; ``benchmarks/bench_decorator.py`` measures it.

Failures of our own (a condition or a resolver that raises) follow the tracker's two regimes:
in production they are logged once and counted in ``internal_events.rejected`` with the reason
``condition_error`` or ``resolver_error``, and the host's call is untouched; in strict mode
they raise a :class:`~otel_internal_events.errors.TrackingError`.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar, cast

from opentelemetry import trace

from ._state import configured, get_runtime
from .config import settings_from_env
from .conventions import INSTRUMENTATION_SCOPE
from .definitions import DefinitionRegistry, load_definitions
from .errors import InvalidPropertyError, TrackingError, UnknownEventError

if TYPE_CHECKING:  # a runtime is built by _state, on first use: not on importing this module
    from ._runtime import Runtime

__all__ = ["Source", "tracks_internal_event"]

_log = logging.getLogger("otel_internal_events")
F = TypeVar("F", bound=Callable[..., Any])
#: What ``user``, ``project``, ``namespace``, a property and a condition may be: a callable
#: ``(arguments, result)``, an attribute path such as ``"request.user"``, or a plain value.
Source = Any
Arguments = dict[str, Any]
Resolver = Callable[[tuple[Any, ...], dict[str, Any], Any], Any]
#: The first segment of an attribute path that names the return value.
RESULT = "return"


def tracks_internal_event(
    event: str,
    *,
    user: Source = None,
    project: Source = None,
    namespace: Source = None,
    additional_properties: Mapping[str, Source] | Callable[[Arguments, Any], Mapping[str, Any]] | None = None,
    conditions: Callable[[Arguments, Any], object] | Sequence[Callable[[Arguments, Any], object]] | None = None,
    on_error: bool = False,
    span: bool = False,
) -> Callable[[F], F]:
    """Track ``event`` each time the decorated function completes.

    Works on plain functions, methods, generators and coroutines, sync and async::

        @tracks_internal_event("create_merge_request", user="current_user", project="return.project",
                               additional_properties={"label": "web", "property": "return.state"})
        def open_merge_request(current_user, title): ...

    **When**: after the function returns. A generator (sync or async) is tracked when it is
    exhausted, not when it is created or closed early; its ``return`` value is the result. With
    ``on_error=True`` the event is also tracked when the function raises an ``Exception``
    (the result is then ``None``), and the exception is re-raised.

    **Sources** for ``user``, ``project``, ``namespace``, and the values of
    ``additional_properties`` when it is a dict of property names:

    * a callable, called as ``source(arguments, result)``: ``arguments`` maps every parameter
      name to its value, defaults included (``inspect.BoundArguments.arguments`` after
      ``apply_defaults()``), ``result`` is the return value;
    * a string whose first segment is a parameter name or ``return`` is an attribute path:
      ``"request.user"`` reads the argument ``request``, then its attribute (or key) ``user``;
      ``"return.id"`` reads the result's ``id``. A ``None`` along the path gives ``None``.
      Any other string is a plain value, except for ``user``/``project``/``namespace``, where
      it is a :class:`TypeError` when the decorator is applied (it would be a typo);
    * anything else is a plain value (an object with ``id``, an id).

    ``additional_properties`` may instead be one callable returning the whole dict.
    ``conditions`` (one callable or several, each called as ``condition(arguments, result)``)
    must all be true for the event to be tracked.

    ``span=True`` runs the function in a new OpenTelemetry span named after its
    ``__qualname__``, so the event's span event is inside it.

    **Checks**: the event and the property names of a dict ``additional_properties`` are
    checked against the definitions once, when the decorator is applied if a runtime is
    configured then (else at the first call, so that importing a module never configures
    tracking): in strict mode an unknown event raises
    :class:`~otel_internal_events.UnknownEventError` and an undeclared property
    :class:`~otel_internal_events.InvalidPropertyError`; in production they are logged once.
    A condition or a resolver that raises is a tracking failure (see the module docstring).

    .. versionadded:: 0.2.0
    """
    plan_options = {
        "user": user,
        "project": project,
        "namespace": namespace,
        "additional_properties": additional_properties,
        "conditions": conditions,
    }

    def decorate(func: F) -> F:
        plan = _Plan(event, func, **plan_options)
        tracer = trace.get_tracer(INSTRUMENTATION_SCOPE) if span else None
        if inspect.isasyncgenfunction(func):
            wrap = _async_generator_wrapper
        elif inspect.isgeneratorfunction(func):
            wrap = _generator_wrapper
        elif inspect.iscoroutinefunction(func):
            wrap = _coroutine_wrapper
        else:
            wrap = _function_wrapper
        return cast(F, wrap(func, plan, on_error, tracer))

    return decorate


class _Plan:
    """What one decorated function tracks, and how, worked out once.

    Resolvers are called as ``resolver(args, kwargs, result)``. When no callable needs the
    arguments as a mapping (only paths and plain values), paths read straight from ``args``
    and ``kwargs`` by position and name, and no mapping is built. Otherwise the mapping is
    built once per call and passed as ``kwargs`` with empty ``args``, which the same path
    readers then read by name.
    """

    def __init__(
        self,
        event: str,
        func: Callable[..., Any],
        *,
        user: Source,
        project: Source,
        namespace: Source,
        additional_properties: Any,
        conditions: Any,
    ) -> None:
        self.event = event
        signature = inspect.signature(func)
        if conditions is None:
            conditions = ()
        elif callable(conditions):
            conditions = (conditions,)
        self.conditions: tuple[Callable[[Arguments, Any], object], ...] = tuple(conditions)
        if not all(callable(condition) for condition in self.conditions):
            raise TypeError("conditions must be a callable or a sequence of callables")
        kinds = {parameter.kind for parameter in signature.parameters.values()}
        sources = [user, project, namespace, additional_properties]
        if isinstance(additional_properties, Mapping):
            sources.extend(additional_properties.values())
        self.bind: Callable[[tuple[Any, ...], dict[str, Any]], Arguments] | None = None
        if (
            self.conditions
            or any(callable(source) and not isinstance(source, Mapping) for source in sources)
            or inspect.Parameter.VAR_POSITIONAL in kinds
            or inspect.Parameter.VAR_KEYWORD in kinds
        ):
            self.bind = _binder(signature)
        paths = _PathReaders(signature, by_name_only=self.bind is not None)
        self.user = _identifier_resolver("user", user, paths)
        self.project = _identifier_resolver("project", project, paths)
        self.namespace = _identifier_resolver("namespace", namespace, paths)
        self.properties, self.constant_properties, self.property_names = _properties_resolver(
            additional_properties, paths
        )
        #: True until the definition is checked: now, against the configured runtime's
        #: definitions or else the ones the environment names (no runtime is built for it);
        #: at the first call if neither can be read.
        self.unchecked = True
        runtime = configured()
        if runtime is not None:
            self.check_definition(runtime.registry, strict=runtime.tracker.strict)
        else:
            found = _definitions_from_environment()
            if found is not None:
                registry, strict = found
                self.check_definition(registry, strict=strict)

    def check_definition(self, registry: DefinitionRegistry, *, strict: bool) -> None:
        """Check the event and the declared property names once: raise (strict) or log."""
        self.unchecked = False
        problems: list[TrackingError] = []
        try:
            definition = registry.event(self.event)
        except UnknownEventError as exc:
            problems.append(exc)
        else:
            declared = definition.additional_properties
            problems.extend(
                InvalidPropertyError(self.event, name, "not declared in the event's definition")
                for name in self.property_names
                if name not in declared
            )
        if not problems:
            return
        if strict:
            raise problems[0]
        for problem in problems:
            _log.warning("@tracks_internal_event: %s", problem)

    def track(self, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
        """Resolve and track the event of one completed call."""
        runtime = get_runtime()
        if runtime is None:
            return
        if self.unchecked:
            self.check_definition(runtime.registry, strict=runtime.tracker.strict)
        reason = "resolver_error"
        try:
            if self.bind is not None:
                arguments = self.bind(args, kwargs)
                if self.conditions:
                    reason = "condition_error"
                    for condition in self.conditions:
                        if not condition(arguments, result):
                            return
                    reason = "resolver_error"
                args, kwargs = (), arguments
            user, project, namespace, properties = self.user, self.project, self.namespace, self.properties
            runtime.tracker.track(
                self.event,
                user=user(args, kwargs, result) if user is not None else None,
                project=project(args, kwargs, result) if project is not None else None,
                namespace=namespace(args, kwargs, result) if namespace is not None else None,
                additional_properties=self.constant_properties
                if properties is None
                else properties(args, kwargs, result),
            )
        except TrackingError:
            raise  # strict mode: the tracker's own check raised it
        except Exception as exc:
            self.fail(runtime, reason, exc)

    def fail(self, runtime: Runtime, reason: str, exc: Exception) -> None:
        what = "a condition" if reason == "condition_error" else "resolving the identifiers or properties"
        problem = TrackingError(self.event, "", f"@tracks_internal_event: {what} raised {exc!r}")
        runtime.tracker.fail(problem, reason, exc)


def _binder(signature: inspect.Signature) -> Callable[[tuple[Any, ...], dict[str, Any]], Arguments]:
    """``bind(args, kwargs)``: every parameter's value, defaults included.

    Called only after the function accepted the arguments, so they are known to bind. The
    common signatures (no ``*args``/``**kwargs``) bind without ``Signature.bind``, which
    costs several times more.
    """
    kinds = {parameter.kind for parameter in signature.parameters.values()}
    if inspect.Parameter.VAR_POSITIONAL in kinds or inspect.Parameter.VAR_KEYWORD in kinds:

        def bind_any(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Arguments:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return bound.arguments

        return bind_any
    positional = tuple(
        name for name, parameter in signature.parameters.items() if parameter.kind is not inspect.Parameter.KEYWORD_ONLY
    )
    count = len(signature.parameters)
    defaults = tuple(
        (name, parameter.default)
        for name, parameter in signature.parameters.items()
        if parameter.default is not inspect.Parameter.empty
    )

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Arguments:
        # zip() without strict: its keyword argument alone triples the cost of this line.
        arguments = dict(zip(positional, args))  # noqa: B905 - args never outnumber the parameters here
        if kwargs:
            arguments.update(kwargs)
        if len(arguments) < count:
            for name, default in defaults:
                if name not in arguments:
                    arguments[name] = default
        return arguments

    return bind


class _PathReaders:
    """Builds the resolvers of attribute paths for one signature."""

    def __init__(self, signature: inspect.Signature, *, by_name_only: bool) -> None:
        self.parameters = signature.parameters
        self.by_name_only = by_name_only
        self.names = frozenset(signature.parameters) | {RESULT}

    def is_path(self, value: Any) -> bool:
        return isinstance(value, str) and value.split(".", 1)[0] in self.names

    def locate(self, name: str) -> tuple[int, Any]:
        """Where parameter ``name`` is in a call: its position (``sys.maxsize``: by name only),
        and its default."""
        parameter = self.parameters[name]
        index = (
            sys.maxsize
            if self.by_name_only or parameter.kind is inspect.Parameter.KEYWORD_ONLY
            else list(self.parameters).index(name)
        )
        return index, None if parameter.default is inspect.Parameter.empty else parameter.default

    def is_argument(self, value: Any) -> bool:
        """Whether ``value`` is a bare parameter name (a path without attributes)."""
        return isinstance(value, str) and value in self.parameters

    def resolver(self, path: str) -> Resolver:
        """One closure per path, its argument read inline (a call costs more than the read)."""
        root, *rest = path.split(".")
        attributes = tuple(rest)
        if root == RESULT:
            if not attributes:
                return lambda args, kwargs, result: result
            return lambda args, kwargs, result: _path(result, attributes)
        index, default = self.locate(root)
        if not attributes:
            return lambda args, kwargs, result: args[index] if index < len(args) else kwargs.get(root, default)
        if len(attributes) == 1:
            (attribute,) = attributes

            def read_one(args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> Any:
                value = args[index] if index < len(args) else kwargs.get(root, default)
                if value is None:
                    return None
                try:
                    return getattr(value, attribute)
                except AttributeError:
                    return _attribute(value, attribute)

            return read_one

        def read_path(args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> Any:
            return _path(args[index] if index < len(args) else kwargs.get(root, default), attributes)

        return read_path


def _path(value: Any, attributes: tuple[str, ...]) -> Any:
    """Follow ``attributes`` from ``value``; ``None`` along the way gives ``None``."""
    for attribute in attributes:
        if value is None:
            return None
        value = _attribute(value, attribute)
    return value


def _attribute(value: Any, name: str) -> Any:
    """``value[name]`` for a mapping, else ``value.name``."""
    if type(value) is dict:
        return value[name]
    try:
        return getattr(value, name)
    except AttributeError:
        if isinstance(value, Mapping):
            return value[name]
        raise


def _resolver(source: Source, paths: _PathReaders) -> Resolver:
    if callable(source):
        call = source

        def called(args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> Any:
            return call(kwargs, result)  # kwargs: the bound arguments (see _Plan)

        return called
    if paths.is_path(source):
        return paths.resolver(source)
    return lambda _args, _kwargs, _result: source


def _identifier_resolver(name: str, source: Source, paths: _PathReaders) -> Resolver | None:
    if source is None:
        return None
    if isinstance(source, str) and not paths.is_path(source):
        raise TypeError(
            f"{name}={source!r}: a string names an attribute path whose first segment is a parameter "
            f"({', '.join(sorted(paths.parameters)) or 'none'}) or {RESULT!r}"
        )
    return _resolver(source, paths)


def _properties_resolver(
    source: Any, paths: _PathReaders
) -> tuple[Resolver | None, Mapping[str, Any] | None, tuple[str, ...]]:
    """``(resolver, constant, names)``: a resolver of the properties dict, or the constant dict
    when no value depends on the call; ``names`` are the property names known in advance."""
    if source is None:
        return None, None, ()
    if callable(source) and not isinstance(source, Mapping):
        return _resolver(source, paths), None, ()
    if not isinstance(source, Mapping):
        raise TypeError(f"additional_properties must be a dict or a callable, got {type(source).__name__}")
    names = tuple(source)
    constants = {name: value for name, value in source.items() if not callable(value) and not paths.is_path(value)}
    if len(constants) == len(names):
        return None, constants, names
    # A property that is an argument is read inline (a call per property costs more than the read).
    arguments = tuple(
        (name, value, *paths.locate(value))
        for name, value in source.items()
        if name not in constants and paths.is_argument(value)
    )
    resolvers = tuple(
        (name, _resolver(value, paths))
        for name, value in source.items()
        if name not in constants and not paths.is_argument(value)
    )

    def properties(args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> dict[str, Any]:
        resolved = constants.copy()
        for name, parameter, index, default in arguments:
            resolved[name] = args[index] if index < len(args) else kwargs.get(parameter, default)
        for name, resolve in resolvers:
            resolved[name] = resolve(args, kwargs, result)
        return resolved

    return properties, None, names


@contextmanager
def _in_span(span: trace.Span) -> Iterator[None]:
    """The span as the current one, not ended on exit (a generator's span outlives a step)."""
    with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
        yield


def _function_wrapper(func: Callable[..., Any], plan: _Plan, on_error: bool, tracer: trace.Tracer | None) -> Any:
    name = func.__qualname__
    track = plan.track

    if tracer is None:

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                result = func(*args, **kwargs)
            except Exception:
                if on_error:
                    track(args, kwargs, None)
                raise
            track(args, kwargs, result)
            return result

        return wrapper

    @functools.wraps(func)
    def spanned(*args: Any, **kwargs: Any) -> Any:
        with tracer.start_as_current_span(name):
            try:
                result = func(*args, **kwargs)
            except Exception:
                if on_error:
                    track(args, kwargs, None)
                raise
            track(args, kwargs, result)
            return result

    return spanned


def _coroutine_wrapper(func: Callable[..., Any], plan: _Plan, on_error: bool, tracer: trace.Tracer | None) -> Any:
    name = func.__qualname__
    track = plan.track

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        with tracer.start_as_current_span(name) if tracer is not None else nullcontext():
            try:
                result = await func(*args, **kwargs)
            except Exception:
                if on_error:
                    track(args, kwargs, None)
                raise
            track(args, kwargs, result)
            return result

    return wrapper


def _generator_wrapper(func: Callable[..., Any], plan: _Plan, on_error: bool, tracer: trace.Tracer | None) -> Any:
    name = func.__qualname__
    track = plan.track

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        # Driven step by step rather than with ``yield from``, so that with a span each step
        # runs inside it and the caller's code between steps does not.
        span = tracer.start_span(name) if tracer is not None else None
        try:
            with _in_span(span) if span is not None else nullcontext():
                generator = func(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                with _in_span(span) if span is not None else nullcontext():
                    try:
                        value = generator.send(sent) if thrown is None else generator.throw(thrown)
                    except StopIteration as stop:
                        track(args, kwargs, stop.value)
                        return stop.value
                    except Exception:
                        if on_error:
                            track(args, kwargs, None)
                        raise
                thrown = None
                try:
                    sent = yield value
                except GeneratorExit:
                    generator.close()
                    raise
                except BaseException as exc:
                    thrown, sent = exc, None
        finally:
            if span is not None:
                span.end()

    return wrapper


def _async_generator_wrapper(func: Callable[..., Any], plan: _Plan, on_error: bool, tracer: trace.Tracer | None) -> Any:
    name = func.__qualname__
    track = plan.track

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        span = tracer.start_span(name) if tracer is not None else None
        try:
            with _in_span(span) if span is not None else nullcontext():
                generator = func(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                with _in_span(span) if span is not None else nullcontext():
                    try:
                        value = await (generator.asend(sent) if thrown is None else generator.athrow(thrown))
                    except StopAsyncIteration:
                        track(args, kwargs, None)
                        return
                    except Exception:
                        if on_error:
                            track(args, kwargs, None)
                        raise
                thrown = None
                try:
                    sent = yield value
                except GeneratorExit:
                    await generator.aclose()
                    raise
                except BaseException as exc:
                    thrown, sent = exc, None
        finally:
            if span is not None:
                span.end()

    return wrapper


_loaded: dict[tuple[str, ...], DefinitionRegistry] = {}


def _definitions_from_environment() -> tuple[DefinitionRegistry, bool] | None:
    """The definitions the environment's settings name, and whether strict mode is on; loaded
    once per set of folders. None when they cannot be read (the folders may be configured
    later, by the application or the pytest plugin): the first call checks then."""
    try:
        settings = settings_from_env()
        registry = _loaded.get(settings.definitions)
        if registry is None:
            registry = _loaded[settings.definitions] = load_definitions(*settings.definitions)
    except Exception:
        return None
    return registry, settings.strict
