"""When to merge segments: a tiered policy, as Lucene's merge policies do it.

Every write adds a small segment; searching many small segments costs a FAISS call and a postings
walk each. Segments are put in size tiers (each ``factor`` times the one below); when ``factor``
adjacent segments share a tier they are merged into one of the next tier, so a passage is merged
about log_factor(N / base) times over its life and a snapshot holds a few segments per tier. A
segment whose deleted share passes ``max_deleted`` is rewritten alone, dropping its dead passages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from index.snapshot import SegmentState, Snapshot


@dataclass(frozen=True)
class MergePolicy:
    """Which adjacent segments of a snapshot to merge next."""

    factor: int = 4
    base: int = 64  # segments of up to this many live passages form the lowest tier
    max_deleted: float = 0.3

    def __post_init__(self) -> None:
        if self.factor < 2:
            raise ValueError(f"factor must be at least 2, got {self.factor}")
        if self.base < 1:
            raise ValueError(f"base must be at least 1, got {self.base}")
        if not 0 < self.max_deleted <= 1:
            raise ValueError(f"max_deleted must be in (0, 1], got {self.max_deleted}")

    def tier(self, state: SegmentState) -> int:
        """The size tier of a segment: 0 up to ``base`` live passages, then one per ``factor``."""
        live = state.live_passages
        return 0 if live <= self.base else 1 + int(math.log(live / self.base, self.factor))

    def pick(self, snapshot: Snapshot) -> tuple[int, int] | None:
        """``(first, last)`` positions in ``snapshot.states`` of the segments to merge, or None."""
        states = snapshot.states
        for i, state in enumerate(states):
            if state.deletions.count > self.max_deleted * len(state.segment):
                return i, i + 1
        start = 0
        for i in range(1, len(states) + 1):
            if i == len(states) or self.tier(states[i]) != self.tier(states[start]):
                if i - start >= self.factor:
                    return start, i
                start = i
        return None
