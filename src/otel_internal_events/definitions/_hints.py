""" "Did you mean ...?" for unknown names, fast enough for thousands of them.

Comparing every unknown name with every known one (``difflib`` over the whole list) is
quadratic: 16 s for a GitLab-sized tree with thousands of unknown events. An index of the
names' trigrams gives each unknown name a shortlist of the names that share the most
trigrams with it, reading the rarest trigrams first and a bounded number of postings, and
``difflib`` ranks only that shortlist.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from itertools import chain

__all__ = ["NameIndex"]

#: Postings read per lookup at most (the rarest trigrams first), and the shortlist's length.
_BUDGET = 600
_SHORTLIST = 5


def _trigrams(name: str) -> set[str]:
    padded = f"^{name}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class NameIndex:
    """Known names, indexed by trigram, to suggest the closest to an unknown one."""

    __slots__ = ("_cache", "_names", "_postings")

    def __init__(self, names: Iterable[str]) -> None:
        self._names = list(names)
        postings: dict[str, list[int]] = {}
        for number, name in enumerate(self._names):
            for gram in _trigrams(name):
                postings.setdefault(gram, []).append(number)
        self._postings = postings
        self._cache: dict[str, str | None] = {}

    def closest(self, name: str) -> str | None:
        """The known name ``name`` is most likely a mistake for: one that contains it, else
        the closest by ``difflib``'s ratio (at least 0.6); None when none is close."""
        try:
            return self._cache[name]
        except KeyError:
            pass
        shortlist = self._shortlist(name)
        containing = [known for known in shortlist if name in known]
        if containing:
            found: str | None = min(containing, key=len)
        else:
            matches = difflib.get_close_matches(name, shortlist, n=1)
            found = matches[0] if matches else None
        self._cache[name] = found
        return found

    def hint(self, name: str) -> str:
        """``"; did you mean '<closest>'?"``, or ``""`` when no known name is close."""
        found = self.closest(name)
        return f"; did you mean '{found}'?" if found is not None else ""

    def _shortlist(self, name: str) -> list[str]:
        postings = [p for p in (self._postings.get(g) for g in _trigrams(name)) if p]
        postings.sort(key=len)
        read: list[list[int]] = []
        total = 0
        for posting in postings:  # the rarest trigrams say the most
            if read and total + len(posting) > _BUDGET:
                break
            read.append(posting)
            total += len(posting)
        best = Counter(chain.from_iterable(read)).most_common(_SHORTLIST)
        # Only the names sharing the most trigrams go on to difflib, which is the slow part.
        return [self._names[number] for number, count in best if count == best[0][1]]
