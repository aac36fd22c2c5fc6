"""`qa serve` as a process, on the fake embedder slowed down: killed in the middle of a bulk
ingest it restarts on a consistent store; stopped with SIGTERM in the middle of one, it finishes
the request, exits 0 and keeps every article of it."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from index.chunk import chunk_article
from index.models import Article
from service.settings import Settings
from tests.live import FAKE_QA, LiveServer, committed_articles

pytestmark = [pytest.mark.slow, pytest.mark.server]

KEY = "process-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
BUNDLED = 1  # the article a new data directory starts with


def articles(count: int, prefix: str) -> list[dict[str, str]]:
    """Small two-paragraph articles, each with a word of its own; their text is stored as sent
    (already clean)."""
    return [
        {
            "id": f"{prefix}-{i:03d}",
            "title": f"Harbour report {i}",
            "text": f"The harbour council met on day {i} to hear the pilots.\n\n"
            f"Delegates discussed marker{i:04d} and the tides of week {i % 9}.",
        }
        for i in range(count)
    ]


def jsonl(records: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def serve(data_dir: Path, embed_seconds: float = 0.0) -> LiveServer:
    env = {
        "QA_API_KEY": KEY,
        "QA_REFUSAL_THRESHOLD": "0.05",  # the fake embedder's scale
        "FAKE_EMBED_SECONDS": str(embed_seconds),
    }
    return LiveServer(data_dir, FAKE_QA, env)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1) as executor:
        yield executor


def post_bulk(pool: ThreadPoolExecutor, url: str, body: str) -> Future[httpx.Response]:
    return pool.submit(
        httpx.post, f"{url}/api/articles:bulk", content=body, headers=AUTH, timeout=120
    )


def wait_for_commits(data_dir: Path, at_least: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (count := committed_articles(data_dir)) < at_least:
        assert time.monotonic() < deadline, f"only {count} articles committed after {timeout} s"
        time.sleep(0.02)
    return count


def listed(url: str) -> list[dict[str, Any]]:
    page = httpx.get(f"{url}/api/articles", params={"limit": 10_000}, timeout=30).json()
    assert page["total"] == len(page["articles"])
    return list(page["articles"])


def check_whole(url: str, sent: dict[str, dict[str, str]], ids: list[str]) -> None:
    """Each article is readable whole, as sent, with the passages its text makes."""
    config = Settings().index_config()
    for article_id in ids:
        response = httpx.get(f"{url}/api/articles/{article_id}", timeout=30)
        assert response.status_code == 200, article_id
        stored = response.json()
        assert stored["text"] == sent[article_id]["text"]
        assert stored["title"] == sent[article_id]["title"]
        article = Article(id=article_id, title=stored["title"], text=stored["text"])
        passages = chunk_article(article, config.max_chars, config.min_chars)
        assert stored["passage_count"] == len(passages), article_id


def test_a_server_killed_mid_bulk_restarts_on_a_consistent_store(
    tmp_path: Path, pool: ThreadPoolExecutor
) -> None:
    data_dir = tmp_path / "data"
    records = articles(320, "crash")
    sent = {r["id"]: r for r in records}
    server = serve(data_dir, embed_seconds=0.15)
    call = post_bulk(pool, server.url, jsonl(records))
    # Two batches of 32 committed, then no warning at all.
    wait_for_commits(data_dir, BUNDLED + 64)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    server.stop()
    committed = committed_articles(data_dir)
    with pytest.raises(httpx.HTTPError):
        call.result()

    server = serve(data_dir)
    try:
        summaries = listed(server.url)
        ids = [a["id"] for a in summaries if a["id"].startswith("crash-")]
        # Every committed article is back, nothing half-written, in the order they were sent.
        assert len(summaries) == committed
        assert 64 <= len(ids) < len(records), "the kill came after the whole call"
        assert ids == [r["id"] for r in records[: len(ids)]]
        check_whole(server.url, sent, ids)
        ready = httpx.get(f"{server.url}/readyz").json()
        assert ready["articles"] == committed
        assert ready["passages"] == sum(a["passage_count"] for a in summaries)
        last = len(ids) - 1
        answer = httpx.post(f"{server.url}/api/ask", json={"question": f"marker{last:04d}"})
        assert answer.status_code == 200
        assert answer.json()["citations"][0]["article_id"] == ids[last]
        # The interrupted call can simply be sent again.
        again = httpx.post(
            f"{server.url}/api/articles:bulk", content=jsonl(records), headers=AUTH, timeout=120
        )
        assert again.status_code == 200
        assert len(again.json()["unchanged"]) == len(ids)
        assert len(again.json()["added"]) == len(records) - len(ids)
    finally:
        server.stop()


def test_sigterm_lets_a_bulk_call_in_flight_finish_then_exits_0(
    tmp_path: Path, pool: ThreadPoolExecutor
) -> None:
    data_dir = tmp_path / "data"
    records = articles(128, "term")
    sent = {r["id"]: r for r in records}
    server = serve(data_dir, embed_seconds=0.2)
    call = post_bulk(pool, server.url, jsonl(records))
    # One batch of four in: the call is in flight when the signal comes.
    before = wait_for_commits(data_dir, BUNDLED + 32)
    server.process.send_signal(signal.SIGTERM)
    assert before < BUNDLED + len(records)
    response = call.result()
    assert response.status_code == 200, response.text
    assert sorted(response.json()["added"]) == sorted(sent)
    assert server.process.wait(timeout=60) == 0
    server.stop()

    server = serve(data_dir)
    try:
        ids = [a["id"] for a in listed(server.url) if a["id"].startswith("term-")]
        assert sorted(ids) == sorted(sent)
        check_whole(server.url, sent, ids)
    finally:
        server.stop()
