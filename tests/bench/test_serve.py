"""qa bench's phases against `qa serve` on the fake embedder: every question is asked once and
answered, the bulk ingest stores what it sends, and the figures are printed beside the floor."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.serve import Latencies, concurrent, ingest, peak_rss_mib, sequential
from bench.writes import KEY
from tests.live import FAKE_QA, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.server]

QUESTIONS = [f"Question {i}: who said what about the attacks in Karachi?" for i in range(24)]
ARTICLES = [
    {"id": f"bench-{i}", "title": f"Harbour report {i}", "text": f"The harbour {i} reopened. " * 30}
    for i in range(5)
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("bench") / "data"
    live = LiveServer(data_dir, FAKE_QA, {"QA_API_KEY": KEY})
    yield live
    live.stop()


def test_questions_one_at_a_time_and_from_several_clients_are_each_answered_once(
    server: LiveServer,
) -> None:
    alone = sequential(server.url, QUESTIONS[:6])
    assert (len(alone.seconds), alone.failed) == (6, 0)
    together = concurrent(server.url, QUESTIONS[6:], clients=4)
    assert (len(together.seconds), together.failed) == (18, 0)
    assert together.wall > 0 and all(s > 0 for s in together.seconds)


def test_a_failed_question_is_counted_not_timed(server: LiveServer) -> None:
    result = sequential(server.url, ["", "What did the ambassador say?"])  # "" is a 422
    assert (len(result.seconds), result.failed) == (1, 1)


def test_the_bulk_ingest_stores_every_article_and_counts_their_passages(
    server: LiveServer,
) -> None:
    passages, seconds = ingest(server.url, ARTICLES, batch=2)
    assert seconds > 0
    listed = httpx.get(f"{server.url}/api/articles", params={"limit": 100}).json()
    counts = {
        a["id"]: a["passage_count"] for a in listed["articles"] if a["id"].startswith("bench-")
    }
    assert sorted(counts) == [a["id"] for a in ARTICLES]
    assert passages == sum(counts.values()) > 0


def test_figures_are_given_against_the_floor() -> None:
    line = Latencies([0.010, 0.020, 0.030, 0.040], wall=0.1, failed=0).line(floor=0.010)
    assert line.startswith("4 answered, 0 failed, 40.0 questions/s; p50 20.0 ms (2.00 x the floor)")
    assert "p99 40.0 ms (2.00 x p50)" in line
    assert peak_rss_mib(os.getpid()) > 1
