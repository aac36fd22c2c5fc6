"""What every benchmark shares: one percentile definition, a free port on loopback and the source
tree servers start from (the live server itself is started by ``bench.writes.server``)."""

from __future__ import annotations

import math
import socket
from collections.abc import Sequence
from pathlib import Path

# The source tree these commands start `qa serve` from: a checkout holds pyproject.toml.
CHECKOUT = Path(__file__).resolve().parents[1]


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (``p`` in percent) of non-empty ``values``: the
    smallest value at or below which ``p`` % of them fall, always one of the values measured.
    Every report's p50/p95/p99 is this statistic."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 < p <= 100.0:
        raise ValueError(f"p must be a percentage in (0, 100], got {p}")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
