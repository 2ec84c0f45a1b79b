"""Turn tracked events into GitLab-compatible Redis counter writes, one round trip per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..definitions import DefinitionRegistry
from ..metrics import NS_PER_DAY, WEEKLY_KEY_TTL_SECONDS, RedisClient, RedisKeys, iso_week_of_day, render_value
from ..wire import TrackedEvent

__all__ = ["RedisClient", "RedisCounterSink", "WritePlan", "unique_member"]

#: unique identifier -> the TrackedEvent field holding it (others are additional properties)
_ID_ATTRIBUTES = {"user": "user_id", "project": "project_id", "namespace": "namespace_id"}
_ID_FIELDS = frozenset(_ID_ATTRIBUTES.values())
#: (filter matcher or None, key, kind, unique value source, key is a weekly total or sum)
_Step = tuple[Callable[[Mapping[str, object]], bool] | None, str, str, str, bool]


@dataclass(slots=True)
class WritePlan:
    """The grouped writes of a batch: one command per key, whatever the number of events."""

    unique: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sums: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    weekly: set[str] = field(default_factory=set)
    #: Commands Redis refused (e.g. WRONGTYPE on a key some other tool wrote), set by write().
    command_errors: list[Exception] = field(default_factory=list)
    #: How many events had a write among the refused commands, set by write().
    refused_events: int = 0


def unique_member(value: object) -> str:
    """The HLL member of a unique value: stable across processes (no per-process hashing).

    Ids are written as their digits, as GitLab adds ``record.id``; strings as themselves;
    numbers in a canonical form so that 3 and 3.0 are one value.
    """
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return render_value(value)


class RedisCounterSink:
    """Writes tracked events into Redis counters following each event's rules.

    One :meth:`write` call groups the writes per key (one ``PFADD key m1 m2 ...``, one
    ``INCRBY key n``) and sends them in one pipelined round trip inside MULTI/EXEC, so a
    batch is applied whole or not at all.
    """

    def __init__(self, client: RedisClient, registry: DefinitionRegistry, key_prefix: str = "") -> None:
        self._client = client
        self._registry = registry
        self._keys = RedisKeys(key_prefix)
        self._step_cache: dict[tuple[str, int], tuple[_Step, ...]] = {}

    @property
    def keys(self) -> RedisKeys:
        return self._keys

    def _steps(self, event: str, day: int) -> tuple[_Step, ...]:
        """The writes of ``event`` on day ``day`` (days since the epoch), keys included."""
        week = iso_week_of_day(day)
        steps = []
        for rule in self._registry.rules_for(event):
            key = self._keys.key(rule, week)
            matcher = rule.matches if rule.filter else None
            kind = rule.kind
            source = _ID_ATTRIBUTES.get(rule.unique, rule.unique) if rule.unique else ""
            steps.append((matcher, key, kind, source, rule.time_framed and kind != "unique"))
        found = tuple(steps)
        if len(self._step_cache) > 100_000:
            self._step_cache.clear()
        self._step_cache[(event, day)] = found
        return found

    def plan(self, events: Iterable[TrackedEvent]) -> WritePlan:
        """Group the writes of ``events`` per key (no I/O)."""
        plan = WritePlan()
        unique, totals, sums, weekly = plan.unique, plan.totals, plan.sums, plan.weekly
        cache = self._step_cache
        for event in events:
            day = event.timestamp_ns // NS_PER_DAY
            steps = cache.get((event.name, day)) or self._steps(event.name, day)
            properties = event.properties
            for matcher, key, kind, source, is_weekly in steps:
                if matcher is not None and not matcher(properties):
                    continue
                if kind == "unique":
                    value = getattr(event, source) if source in _ID_FIELDS else properties.get(source)
                    if value is not None:  # missing: the tracker has counted it as rejected
                        if type(value) is str:
                            unique[key].add(value)
                        else:  # an id's digits, as unique_member writes them
                            unique[key].add(str(value) if type(value) is int else unique_member(value))
                    continue
                if kind == "sum":
                    amount = properties.get("value")
                    if amount is None or isinstance(amount, str):
                        continue
                    sums[key] += amount
                else:
                    totals[key] += 1
                if is_weekly:
                    weekly.add(key)
        return plan

    def write(self, events: Sequence[TrackedEvent]) -> WritePlan:
        """Apply ``events`` in one round trip.

        Connection and timeout errors propagate (nothing was applied: the caller may retry);
        commands Redis refuses are returned in ``command_errors`` (retrying cannot help), with
        the number of events they concern in ``refused_events``.
        """
        plan = self.plan(events)
        if not (plan.unique or plan.totals or plan.sums):
            return plan
        pipe = self._client.pipeline(transaction=True)
        keys: list[str] = []  # the key of each command, in order
        for key, members in plan.unique.items():
            pipe.pfadd(key, *members)
            pipe.expire(key, WEEKLY_KEY_TTL_SECONDS)  # refreshed on every write, as GitLab
            keys += (key, key)
        for key, count in plan.totals.items():
            pipe.incrby(key, count)
            keys.append(key)
        for key, amount in plan.sums.items():
            pipe.incrbyfloat(key, amount)
            keys.append(key)
        for key in plan.weekly:
            pipe.expire(key, WEEKLY_KEY_TTL_SECONDS, nx=True)  # set once, never extended
            keys.append(key)
        results = pipe.execute(raise_on_error=False)
        refused = {key for key, result in zip(keys, results, strict=True) if isinstance(result, Exception)}
        if refused:
            plan.command_errors = [r for r in results if isinstance(r, Exception)]
            plan.refused_events = sum(1 for event in events if refused.intersection(self._keys_written(event)))
        return plan

    def _keys_written(self, event: TrackedEvent) -> set[str]:
        """The keys a write of ``event`` alone touches (the same rules as :meth:`plan`)."""
        plan = self.plan((event,))
        return {*plan.unique, *plan.totals, *plan.sums}
