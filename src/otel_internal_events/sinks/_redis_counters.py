"""Turn tracked events into GitLab-compatible Redis counter writes, one round trip per batch."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..definitions import DefinitionRegistry
from ..metrics import NS_PER_DAY, WEEKLY_KEY_TTL_SECONDS, RedisClient, RedisKeys, iso_week_of_day, render_value
from ..wire import TrackedEvent

__all__ = ["BATCH_MARKER_TAG", "DEDUP_WINDOW_SECONDS", "RedisClient", "RedisCounterSink", "WritePlan", "unique_member"]

#: How long a batch id is remembered: a batch sent again within it is not applied twice.
DEDUP_WINDOW_SECONDS = 600
#: The hash tag of the keys that remember applied batches (``<prefix>{internal_events_batches}_<id>``).
BATCH_MARKER_TAG = "{internal_events_batches}"

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
    #: Events left out because a value of theirs cannot be stored, set by plan().
    invalid_events: list[TrackedEvent] = field(default_factory=list)
    #: The batch had been applied already (the same batch id, within the window), set by write().
    duplicate: bool = False


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
    ``INCRBY key n``) and sends them in one round trip, as one server-side script: a batch is
    applied whole or not at all (but for commands Redis refuses, which fail alone), and, given
    a batch id, at most once.
    """

    def __init__(
        self,
        client: RedisClient,
        registry: DefinitionRegistry,
        key_prefix: str = "",
        *,
        dedup_window_s: int = DEDUP_WINDOW_SECONDS,
    ) -> None:
        self._client = client
        self._window_s = dedup_window_s
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
        """Group the writes of ``events`` per key (no I/O).

        An event with a value that cannot be stored (text that does not encode, a sum that is not
        finite: the tracker's checks let none through, but this is the last line) is set aside in
        ``invalid_events`` with none of its writes, so it cannot take the others down with it.
        """
        events = list(events)
        invalid: list[TrackedEvent] = []
        while True:
            try:
                plan = self._plan(events)
            except _Unstorable as bad:
                invalid.append(bad.event)
                events = [event for event in events if event is not bad.event]
                continue
            plan.invalid_events = invalid
            return plan

    def _plan(self, events: Iterable[TrackedEvent]) -> WritePlan:
        plan = WritePlan()
        unique, totals, sums, weekly = plan.unique, plan.totals, plan.sums, plan.weekly
        cache = self._step_cache
        for event in events:
            day = event.timestamp_ns // NS_PER_DAY
            steps = cache.get((event.name, day)) or self._steps(event.name, day)
            properties = event.properties
            try:
                for matcher, key, kind, source, is_weekly in steps:
                    if matcher is not None and not matcher(properties):
                        continue
                    if kind == "unique":
                        value = getattr(event, source) if source in _ID_FIELDS else properties.get(source)
                        if value is not None:  # missing: the tracker has counted it as rejected
                            if type(value) is str:
                                if not value.isascii():
                                    value.encode("utf-8")
                                unique[key].add(value)
                            else:  # an id's digits, as unique_member writes them
                                unique[key].add(str(value) if type(value) is int else unique_member(value))
                        continue
                    if kind == "sum":
                        amount = properties.get("value")
                        if amount is None or isinstance(amount, str):
                            continue
                        if amount - amount != 0:
                            raise ValueError(f"not a finite number: {amount!r}")
                        sums[key] += amount
                    else:
                        totals[key] += 1
                    if is_weekly:
                        weekly.add(key)
            except (UnicodeEncodeError, ValueError, OverflowError) as exc:
                raise _Unstorable(event, exc) from None
        return plan

    def write(self, events: Sequence[TrackedEvent], batch_id: str | None = None) -> WritePlan:
        """Apply ``events`` in one round trip: one server-side script, so all at once.

        With a ``batch_id``, the script first marks it applied (for ``dedup_window_s``) and
        applies nothing when it was already: a batch sent again because the reply to the first
        sending was lost (a timeout after Redis had run it) is counted once (``duplicate``).

        Connection and timeout errors propagate (the caller may retry, with the same id);
        commands Redis refuses are returned in ``command_errors`` (retrying cannot help), with
        the number of events they concern in ``refused_events``; events whose values cannot be
        stored are in ``invalid_events``.
        """
        plan = self.plan(events)
        if not (plan.unique or plan.totals or plan.sums):
            return plan
        keys: list[str] = []
        args: list[object] = []
        marked = batch_id is not None and self._window_s > 0
        if marked:
            keys.append(f"{self._keys.prefix}{BATCH_MARKER_TAG}_{batch_id}")
        args += (self._window_s if marked else 0, WEEKLY_KEY_TTL_SECONDS)
        for key, members in plan.unique.items():
            keys.append(key)
            args += ("P", len(members), *members)
        weekly = plan.weekly
        for key, count in plan.totals.items():
            keys.append(key)
            args += ("Iw" if key in weekly else "I", count)
        for key, amount in plan.sums.items():
            keys.append(key)
            args += ("Fw" if key in weekly else "F", repr(float(amount)))
        written = self._script(keys, args)
        if written is None:
            plan.duplicate = True
            return plan
        command_keys = keys[1:] if marked else keys
        refused = {key for key, error in zip(command_keys, written, strict=True) if error}
        if refused:
            plan.command_errors = [_RefusedCommand(error) for error in written if error]
            plan.refused_events = sum(1 for event in events if refused.intersection(self._keys_written(event)))
        return plan

    def _script(self, keys: list[str], args: list[object]) -> list[str] | None:
        from redis.exceptions import NoScriptError

        client = self._client
        try:
            reply = client.evalsha(_WRITE_SHA, len(keys), *keys, *args)
        except NoScriptError:
            client.script_load(_WRITE_SCRIPT)
            reply = client.evalsha(_WRITE_SHA, len(keys), *keys, *args)
        if reply is None:
            return None
        return [e.decode() if isinstance(e, bytes) else str(e) for e in reply]

    def _keys_written(self, event: TrackedEvent) -> set[str]:
        """The keys a write of ``event`` alone touches (the same rules as :meth:`plan`)."""
        plan = self.plan((event,))
        return {*plan.unique, *plan.totals, *plan.sums}


class _Unstorable(Exception):
    def __init__(self, event: TrackedEvent, cause: Exception) -> None:
        super().__init__(f"event {event.name!r}: {cause}")
        self.event = event


class _RefusedCommand(Exception):
    """A command Redis refused inside the write script (its error message)."""


#: Marks the batch (KEYS[1] when ARGV[1] > 0: SET NX EX window; already there: applies nothing,
#: returns nil), then runs each command, catching refusals one by one: returns one string per
#: command key, empty when it worked, else Redis's error. ARGV[2] is the weekly keys' TTL; then,
#: per command key: P n m1..mn (PFADD, then EXPIRE), I n / Iw n (INCRBY; w: EXPIRE NX once),
#: F x / Fw x (INCRBYFLOAT).
_WRITE_SCRIPT = """
local window = tonumber(ARGV[1])
local first = 1
if window > 0 then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', window) then return nil end
  first = 2
end
local ttl = ARGV[2]
local errors = {}
local a = 3
local function failed(reply) return type(reply) == 'table' and reply.err ~= nil end
for k = first, #KEYS do
  local key = KEYS[k]
  local op = ARGV[a]
  local reply
  if op == 'P' then
    local n = tonumber(ARGV[a + 1])
    a = a + 2
    local i = 0
    while i < n and not failed(reply) do
      local j = math.min(i + 1000, n)
      reply = redis.pcall('PFADD', key, unpack(ARGV, a + i, a + j - 1))
      i = j
    end
    a = a + n
    if not failed(reply) then reply = redis.pcall('EXPIRE', key, ttl) end
  else
    local command = 'INCRBY'
    if op == 'F' or op == 'Fw' then command = 'INCRBYFLOAT' end
    reply = redis.pcall(command, key, ARGV[a + 1])
    a = a + 2
    if not failed(reply) and (op == 'Iw' or op == 'Fw') then reply = redis.pcall('EXPIRE', key, ttl, 'NX') end
  end
  if failed(reply) then errors[#errors + 1] = reply.err else errors[#errors + 1] = '' end
end
return errors
"""
_WRITE_SHA = hashlib.sha1(_WRITE_SCRIPT.encode()).hexdigest()
