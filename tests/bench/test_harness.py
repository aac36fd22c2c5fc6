"""The benchmarks' shared statistic and port."""

from __future__ import annotations

import socket

import pytest

from bench.harness import free_port, percentile


def test_percentile_is_nearest_rank_and_one_of_the_values() -> None:
    values = [float(v) for v in range(20, 0, -1)]  # any order
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile(values, 100) == 20.0
    assert percentile(values, 1) == 1.0
    assert percentile([3.0], 95) == 3.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="percentage"):
        percentile([1.0], 0)


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
