"""The HTTP API through TestClient, on the default corpus with the fake embedder."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def ask(client: TestClient, **body: object):
    return client.post("/api/ask", json=body)


def test_ask_returns_cited_answer(client: TestClient) -> None:
    response = ask(client, question="What did Jiang Zaidong say about security and CPEC?")
    assert response.status_code == 200
    body = response.json()
    assert body["answered"] is True
    assert body["question"] == "What did Jiang Zaidong say about security and CPEC?"
    assert len(body["conversation_id"]) == 32
    assert [c["rank"] for c in body["citations"]] == [1, 2, 3, 4, 5]
    scores = [c["score"] for c in body["citations"]]
    assert scores == sorted(scores, reverse=True)
    [cited] = [c for c in body["citations"] if c["highlight"] is not None]
    article = client.get(f"/api/articles/{cited['article_id']}").json()
    start, end = cited["highlight"]
    assert body["answer"] == f"{article['text'][start:end]} [{cited['rank']}]"
    for c in body["citations"]:
        assert article["text"][c["start"] : c["end"]] == c["text"]
        assert c["title"] == "China-Pakistan Ties Under Pressure Over Security Concerns"
        assert c["author"] == "Umair Jamal"
        assert c["outlet"] == "The Diplomat"


def test_conversation_id_is_echoed(client: TestClient) -> None:
    first = ask(client, question="Jiang Zaidong").json()
    body = ask(client, question="Jiang Zaidong", conversation_id=first["conversation_id"]).json()
    assert body["conversation_id"] == first["conversation_id"]
    assert body["turn"] == 1


def test_unrelated_question_is_not_answered(client: TestClient) -> None:
    body = ask(client, question="sourdough yeast recipe", top_k=2).json()
    assert body["answered"] is False
    assert body["answer"] is None
    assert len(body["citations"]) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"question": ""}, "question: Value error, the question is empty"),
        ({"question": "   \n"}, "the question is empty"),
        ({"question": "x" * 1001}, "the limit is 1000"),
        ({"question": "ok", "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
        ({"question": "ok", "top_k": 51}, "top_k: Input should be less than or equal to 50"),
        ({"question": "ok", "top_k": "many"}, "top_k: Input should be a valid integer"),
        ({"question": 12}, "question: Input should be a valid string"),
        ({}, "question: Field required"),
        ({"question": "ok", "colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_ask_bodies_get_422_with_message(client: TestClient, body: dict, message: str):
    response = client.post("/api/ask", json=body)
    assert response.status_code == 422
    assert message.replace("Value error, ", "") in response.json()["detail"]


def test_malformed_json_gets_422(client: TestClient) -> None:
    response = client.post(
        "/api/ask", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]


def test_search_ranks_passages_without_answer(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "Financial Times report", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "Financial Times report"
    assert len(body["citations"]) == 3
    assert "Financial Times" in body["citations"][0]["text"]
    assert all(c["highlight"] is None for c in body["citations"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x", "k": 0}, "k: Input"),
        ({"q": "x", "k": 101}, "k: Input"),
        ({}, "q: Field"),
        ({"q": "  "}, "the question is empty"),
    ],
)
def test_bad_search_gets_422(client: TestClient, params: dict, message: str) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_articles_list_and_detail(client: TestClient) -> None:
    listing = client.get("/api/articles", params={"limit": 10000}).json()
    assert listing["total"] == 1
    [summary] = listing["articles"]
    assert summary["passage_count"] == 26
    assert summary["section"] == "South Asia"
    assert summary["metadata"]["author_bio"].startswith("Umair Jamal is a correspondent")
    detail = client.get(f"/api/articles/{summary['id']}").json()
    assert detail["text"].startswith("Pakistan and China’s relationship")
    assert client.get("/api/articles", params={"offset": 1}).json()["articles"] == []


def test_article_errors(client: TestClient) -> None:
    response = client.get("/api/articles/no-such-article")
    assert response.status_code == 404
    assert response.json() == {"detail": "no article with id 'no-such-article'"}
    assert client.get("/api/articles", params={"limit": 0}).status_code == 422


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["articles"] == 1
    assert ready["passages"] == 26


def test_chat_page_and_openapi_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="ask-form"' in page.text
    assert client.get("/static/app.js").status_code == 200
    assert "/api/ask" in client.get("/openapi.json").json()["paths"]


def test_answer_span_is_the_exact_answer_at_its_offsets(client: TestClient) -> None:
    body = ask(client, question="Who is Pakistan's foreign minister?").json()
    span = body["answer_span"]
    assert span is not None and span["text"] == "Ishaq Dar"
    cited = next(c for c in body["citations"] if c["highlight"] is not None)
    article = client.get(f"/api/articles/{cited['article_id']}").json()
    assert article["text"][span["start"] : span["end"]] == "Ishaq Dar"
    start, end = cited["highlight"]
    assert start <= span["start"] < span["end"] <= end  # inside the answer sentence


def test_no_answer_span_when_the_question_asks_for_no_kind(client: TestClient) -> None:
    body = ask(client, question="Why are China and Pakistan at odds over security?").json()
    assert body["answer_span"] is None
