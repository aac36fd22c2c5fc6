"""Two ``qa serve`` replicas on one Milvus (a real ``milvus-lite server``) and one PostgreSQL,
each with an empty data directory of its own: they answer the same, see each other's writes
and deletes, continue each other's conversations, and lose nothing when one is killed."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.engines import PostgresServer
from tests.live import FAKE_QA, LiveServer
from tests.milvus_server import MilvusServer

pytestmark = [pytest.mark.slow, pytest.mark.server]

KEY = "replica-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
# Visible on every replica within this long after the write returned (the contract).
VISIBLE_WITHIN = 2.0


@pytest.fixture
def replicas(
    tmp_path: Path, milvus_server: MilvusServer, postgres: PostgresServer
) -> Iterator[list[LiveServer]]:
    env = {
        "QA_VECTOR_STORE": "milvus",
        "QA_MILVUS_URI": milvus_server.uri,
        "QA_MILVUS_COLLECTION": f"replicas_{uuid.uuid4().hex[:12]}",
        "QA_DATABASE_URL": postgres.new_database(),
        "QA_API_KEY": KEY,
        "QA_REFUSAL_THRESHOLD": "0.05",  # the fake embedder's scale
    }
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    # Both start at once on the empty store: each finds it new and ingests the bundled article.
    with ThreadPoolExecutor(2) as pool:
        starting = [pool.submit(LiveServer, tmp_path / n / "data", FAKE_QA, env) for n in "ab"]
    servers = [s.result() for s in starting if s.exception() is None]
    try:
        assert len(servers) == 2, [s.exception() for s in starting]
        yield servers
    finally:
        for server in servers:
            server.stop()


def ask(server: LiveServer, question: str, conversation: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"question": question}
    if conversation is not None:
        body["conversation_id"] = conversation
    reply = httpx.post(f"{server.url}/api/ask", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    data: dict[str, object] = reply.json()
    return data


def cited(reply: dict[str, object]) -> list[str]:
    return [c["article_id"] for c in reply["citations"]]  # type: ignore[index, union-attr]


def until(check: object, timeout: float) -> float:
    """Seconds until ``check()`` is true; fails after ``timeout``."""
    start = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - start < timeout, f"not true after {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


COMET = {
    "id": "comet",
    "title": "Comet over the harbour",
    "text": "A bright comet was seen over the harbour at dawn by fishermen and astronomers.",
}


def test_the_bundled_article_is_ingested_once_and_both_replicas_answer_alike(
    replicas: list[LiveServer],
) -> None:
    a, b = replicas
    listed = [httpx.get(f"{s.url}/api/articles", timeout=10).json() for s in replicas]
    assert listed[0] == listed[1]
    assert len(listed[0]["articles"]) == 1
    # One commit stored it: the replica that came second found it stored as it is.
    ready = [httpx.get(f"{s.url}/readyz", timeout=10).json() for s in replicas]
    assert [r["generation"] for r in ready] == [1, 1]
    assert [r["milvus_behind"] for r in ready] == [0, 0]
    question = "What did the Chinese ambassador say about the attacks?"
    first, second = ask(a, question), ask(b, question)
    assert first["answer"] == second["answer"] and first["answer"]
    assert first["citations"] == second["citations"]


def test_a_write_on_one_replica_is_answered_by_the_other_and_a_delete_too(
    replicas: list[LiveServer],
) -> None:
    a, b = replicas
    reply = httpx.post(f"{a.url}/api/articles", json=COMET, headers=AUTH, timeout=60)
    assert reply.status_code == 201, reply.text
    waited = until(lambda: "comet" in cited(ask(b, "comet over the harbour at dawn")), 10)
    assert waited < VISIBLE_WITHIN
    assert httpx.get(f"{b.url}/api/articles/comet", timeout=10).status_code == 200
    gone = httpx.delete(f"{b.url}/api/articles/comet", headers=AUTH, timeout=30)
    assert gone.status_code == 200, gone.text
    waited = until(lambda: "comet" not in cited(ask(a, "comet over the harbour at dawn")), 10)
    assert waited < VISIBLE_WITHIN
    assert httpx.get(f"{a.url}/api/articles/comet", timeout=10).status_code == 404


def test_a_conversation_started_on_one_replica_continues_on_the_other(
    replicas: list[LiveServer],
) -> None:
    a, b = replicas
    first = ask(a, "Who is China's ambassador to Pakistan?")
    second = ask(b, "What did he say about the attacks?", str(first["conversation_id"]))
    assert second["conversation_id"] == first["conversation_id"]
    assert second["turn"] == 1
    turns = httpx.get(f"{a.url}/api/conversations/{first['conversation_id']}", timeout=10)
    assert [t["question"] for t in turns.json()["turns"]] == [
        "Who is China's ambassador to Pakistan?",
        "What did he say about the attacks?",
    ]


def test_killing_a_replica_loses_nothing_it_acknowledged(replicas: list[LiveServer]) -> None:
    a, b = replicas
    conversation = ask(a, "Who is China's ambassador to Pakistan?")["conversation_id"]
    reply = httpx.post(f"{a.url}/api/articles", json=COMET, headers=AUTH, timeout=60)
    assert reply.status_code == 201, reply.text
    os.kill(a.process.pid, signal.SIGKILL)  # no shutdown, no last checkpoint
    a.process.wait(timeout=10)
    assert "comet" in cited(ask(b, "comet over the harbour at dawn"))
    follow = ask(b, "What did he say about the attacks?", str(conversation))
    assert follow["turn"] == 1
    article = httpx.get(f"{b.url}/api/articles/comet", timeout=10).json()
    assert json.dumps(article).count("harbour") >= 1
