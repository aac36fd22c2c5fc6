"""Conversations over HTTP: turns stored, follow-ups read in context, feedback recorded."""

from __future__ import annotations

from fastapi.testclient import TestClient


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
    assert stored["turns"][1]["answer"] == second["answer"]
    assert stored["turns"][1]["citations"] == second["citations"]
    assert stored["turns"][0]["feedback"] is None


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


def test_client_chosen_id_and_unknown_ids(client: TestClient) -> None:
    body = ask(client, "Jiang Zaidong", "my-chat_1")
    assert body["conversation_id"] == "my-chat_1" and body["turn"] == 0
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
