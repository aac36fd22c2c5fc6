"""Conversations over HTTP: turns stored, follow-ups read in context, feedback recorded, and
nothing quoted from an article after it is deleted or replaced."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from cli.main import cli
from service.settings import Settings
from tests.conftest import make_client
from tests.fakes import FakeEmbedder

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
REEF = {
    "id": "reef",
    "title": "Coral reef bleaching",
    "text": "Marine biologists said half of the reef bleached during the March heatwave.",
    "source": "Ocean News",
}
REEF_QUESTION = "Why did half of the reef bleach during the March heatwave?"


def ask(client: TestClient, question: str, conversation_id: str | None = None) -> dict:
    body: dict = {"question": question}
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = client.post("/api/ask", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_turns_are_stored_and_returned(client: TestClient) -> None:
    first = ask(client, "Who is Jiang Zaidong?")
    cid = first["conversation_id"]
    assert first["turn"] == 0
    second = ask(client, "What did he say?", cid)
    assert second["turn"] == 1 and second["conversation_id"] == cid
    stored = client.get(f"/api/conversations/{cid}").json()
    assert stored["id"] == cid
    assert [t["question"] for t in stored["turns"]] == ["Who is Jiang Zaidong?", "What did he say?"]
    assert [t["turn"] for t in stored["turns"]] == [0, 1]
    assert stored["turns"][1]["answer"] == second["answer"]
    assert stored["turns"][1]["answer_removed"] is False
    assert stored["turns"][1]["citations"] == [{**c, "removed": False} for c in second["citations"]]
    assert stored["turns"][0]["feedback"] is None


def test_the_history_gives_the_exact_answer_as_ask_gave_it(client: TestClient) -> None:
    body = ask(client, "What does CPEC stand for?")
    assert body["answer_span"] is not None
    assert body["answer_span"]["text"] == "China-Pakistan Economic Corridor"
    other = ask(client, "What did Jiang Zaidong say about security?", body["conversation_id"])
    stored = client.get(f"/api/conversations/{body['conversation_id']}").json()
    assert stored["turns"][0]["answer_span"] == body["answer_span"]
    assert stored["turns"][1]["answer_span"] == other["answer_span"]


def test_underspecified_follow_up_is_read_after_the_turn_before(client: TestClient) -> None:
    first = ask(client, "What did Jiang Zaidong say about security and CPEC?")
    follow = ask(client, "Why?", first["conversation_id"])
    assert follow["resolved_query"] == "What did Jiang Zaidong say about security and CPEC? Why?"
    specific = ask(
        client,
        "What did the Financial Times report about Chinese enterprises?",
        first["conversation_id"],
    )
    assert specific["resolved_query"] == specific["question"]


def test_only_server_issued_ids_continue(client: TestClient) -> None:
    # Ids are random and made by the server, so no one can guess another person's conversation
    # and rate or read it.
    chosen = client.post("/api/ask", json={"question": "Jiang Zaidong", "conversation_id": "my-1"})
    assert chosen.status_code == 404
    assert "omit conversation_id to start a new one" in chosen.json()["detail"]
    issued = ask(client, "Jiang Zaidong")["conversation_id"]
    assert len(issued) == 32
    assert ask(client, "And CPEC?", issued)["turn"] == 1
    assert client.get("/api/conversations/nope").status_code == 404
    bad = client.post("/api/ask", json={"question": "x", "conversation_id": "no spaces!"})
    assert bad.status_code == 422
    assert "conversation_id" in bad.json()["detail"]


def test_feedback_is_recorded_and_validated(client: TestClient) -> None:
    cid = ask(client, "Who is Jiang Zaidong?")["conversation_id"]
    response = client.post(
        "/api/feedback", json={"conversation_id": cid, "turn": 0, "rating": "up"}
    )
    assert response.json() == {"status": "recorded"}
    client.post("/api/feedback", json={"conversation_id": cid, "turn": 0, "rating": "down"})
    assert client.get(f"/api/conversations/{cid}").json()["turns"][0]["feedback"] == "down"
    missing = client.post("/api/feedback", json={"conversation_id": cid, "turn": 5, "rating": "up"})
    assert missing.status_code == 404
    assert "has no turn 5" in missing.json()["detail"]
    bad = client.post("/api/feedback", json={"conversation_id": cid, "turn": 0, "rating": "meh"})
    assert bad.status_code == 422
    assert "rating" in bad.json()["detail"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def writer(data_dir: Path) -> Iterator[TestClient]:
    """The app on the default corpus plus the reef article, with writes enabled."""
    settings = Settings(data_dir=data_dir, api_key=KEY, refusal_threshold=0.05)
    with make_client(settings, FakeEmbedder()) as c:
        assert c.put("/api/articles/reef", json=REEF, headers=AUTH).status_code == 201
        yield c


def test_turns_keep_references_not_the_passage_text(client: TestClient, tmp_path: Path) -> None:
    body = ask(client, "What did Jiang Zaidong say about security and CPEC?")
    [cited] = [c for c in body["citations"] if c["highlight"] is not None]
    with sqlite3.connect(tmp_path / "data" / "conversations.sqlite") as db:
        db.row_factory = sqlite3.Row
        [row] = db.execute("SELECT * FROM turns").fetchall()
    stored = json.dumps(dict(row), ensure_ascii=False)
    assert body["question"] in stored  # the user's words
    for c in body["citations"]:
        assert c["text"] not in stored and c["title"] not in stored and c["author"] not in stored
    assert body["answer"].removesuffix(" [1]") not in stored
    assert (row["answer_rank"], row["answer_start"], row["answer_end"]) == (
        cited["rank"],
        *cited["highlight"],
    )
    refs = json.loads(row["citations"])
    assert [(r["passage_id"], r["start"], r["end"]) for r in refs] == [
        (c["passage_id"], c["start"], c["end"]) for c in body["citations"]
    ]
    assert all(len(r["hash"]) == 16 for r in refs)


def test_deleted_article_is_removed_from_history_and_its_answer_withheld(
    writer: TestClient, data_dir: Path
) -> None:
    reef = ask(writer, REEF_QUESTION)
    cid = reef["conversation_id"]
    assert reef["citations"][0]["article_id"] == "reef" and reef["answered"]
    other = ask(writer, "What did Jiang Zaidong say about security and CPEC?", cid)
    writer.post("/api/feedback", json={"conversation_id": cid, "turn": 0, "rating": "up"})
    assert writer.delete("/api/articles/reef", headers=AUTH).status_code == 200

    first, second = writer.get(f"/api/conversations/{cid}").json()["turns"]
    assert first["question"] == REEF_QUESTION and first["answered"] is True
    assert first["answer"] is None and first["answer_removed"] is True
    removed = first["citations"][0]
    assert removed["removed"] is True and removed["article_id"] == "reef"
    assert removed["text"] is None and removed["title"] is None
    assert (removed["start"], removed["end"]) == (
        reef["citations"][0]["start"],
        reef["citations"][0]["end"],
    )
    kept = [c for c in first["citations"] if c["article_id"] != "reef"]
    assert kept and not any(c["removed"] for c in kept) and all(c["text"] for c in kept)
    assert second["answer"] == other["answer"] and second["answer_removed"] is False
    assert "bleached" not in json.dumps(writer.get(f"/api/conversations/{cid}").json())

    result = CliRunner().invoke(cli, ["feedback", "export", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    [case] = [json.loads(line) for line in result.output.splitlines()]
    assert case == {
        "id": f"fb-{cid}-0",
        "question": REEF_QUESTION,
        "answerable": True,
        "answers": [],
        "needs_review": True,
        "removed": True,
    }


def test_replaced_article_is_removed_from_history(writer: TestClient) -> None:
    reef = ask(writer, REEF_QUESTION)
    cid = reef["conversation_id"]
    changed = {**REEF, "text": "Divers found the reef recovering after the cyclone season."}
    assert writer.put("/api/articles/reef", json=changed, headers=AUTH).json()["status"] == (
        "updated"
    )
    [turn] = writer.get(f"/api/conversations/{cid}").json()["turns"]
    assert turn["answer"] is None and turn["answer_removed"] is True
    assert turn["citations"][0]["removed"] is True and turn["citations"][0]["text"] is None

    retitled = {**REEF, "title": "Bleaching on the reef"}
    writer.put("/api/articles/reef", json=retitled, headers=AUTH)
    again = ask(writer, REEF_QUESTION, cid)
    writer.put("/api/articles/reef", json={**retitled, "author": "Mia Park"}, headers=AUTH)
    later = writer.get(f"/api/conversations/{cid}").json()["turns"][1]
    assert later["answer"] == again["answer"] and later["answer_removed"] is False
    assert later["citations"][0]["author"] == "Mia Park"  # the article as it is now
