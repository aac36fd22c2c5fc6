"""Time through the HTTP API: the window a question names, its conversation, and timelines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.corpus import Corpus
from service.settings import Settings
from tests.conftest import make_client
from tests.fakes import FakeEmbedder
from tests.qa.test_time_answers import DATED
from tests.qa.test_timeline import FIRE


@pytest.fixture
def client(tmp_path: Path, embedder: FakeEmbedder) -> Iterator[TestClient]:
    """The app on dated articles only (a dock strike reported twice, a fire, a chess final)."""
    corpus = Corpus(tmp_path / "data", embedder.name, embedder.dimension)
    corpus.add_articles([*DATED, *(a for a in FIRE if a.id != "chess")], embedder)
    corpus.close()
    settings = Settings(
        data_dir=tmp_path / "data",
        ingest_default_corpus=False,
        refusal_threshold=0.0,
        answer_model=False,
    )
    with make_client(settings, embedder) as c:
        yield c


def ask(client: TestClient, question: str, **body: object) -> dict[str, object]:
    response = client.post("/api/ask", json={"question": question, **body})
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def test_a_question_naming_a_period_reports_its_window(client: TestClient) -> None:
    data = ask(client, "What pay rise were the dockers offered last week?", as_of="2025-04-16")
    assert data["time_window"] == {
        "from": "2025-04-07",
        "to": "2025-04-13",
        "from_question": "last week",
        "matched": True,
    }
    assert {c["article_id"] for c in data["citations"]} == {"strike-1"}  # type: ignore[attr-defined]
    assert data["refusal"] is None


def test_a_question_naming_no_period_has_no_window(client: TestClient) -> None:
    data = ask(client, "What pay rise were the dockers offered?", as_of="2025-04-16")
    assert data["time_window"] is None


def test_a_period_without_articles_is_a_clear_refusal(client: TestClient) -> None:
    data = ask(
        client,
        "What were the dockers offered last week?",
        as_of="2025-04-16",
        filters={"published_from": "2025-04-14"},
    )
    assert data["answered"] is False and data["citations"] == []
    assert data["refusal"] == "no articles from that period"


def test_a_period_without_articles_answers_from_every_date_and_says_so(
    client: TestClient,
) -> None:
    data = ask(client, "What were the dockers offered in 2023?", as_of="2025-04-16")
    assert data["time_window"]["matched"] is False  # type: ignore[index]
    assert data["refusal"] is None and data["citations"]


def test_as_of_must_be_a_day(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "What happened?", "as_of": "soon"})
    assert response.status_code == 422


def test_a_follow_up_keeps_the_window_and_the_history_shows_it(client: TestClient) -> None:
    first = ask(client, "What happened to the dock strike last week?", as_of="2025-04-16")
    conversation = first["conversation_id"]
    second = ask(client, "And the pay rise?", conversation_id=conversation, as_of="2025-04-16")
    assert second["time_window"] == first["time_window"]
    third = ask(
        client, "And the pay rise this week?", conversation_id=conversation, as_of="2025-04-16"
    )
    assert third["time_window"]["from_question"] == "this week"  # type: ignore[index]
    history = client.get(f"/api/conversations/{conversation}").json()
    windows = [t["time_window"]["from_question"] for t in history["turns"]]
    assert windows == ["last week", "last week", "this week"]
    assert history["turns"][0]["time_window"]["from"] == first["time_window"]["from"]  # type: ignore[index]


def test_timeline_lists_dated_events_oldest_first_with_citations(client: TestClient) -> None:
    response = client.get("/api/timeline", params={"q": "timeline of the Caskell factory fire"})
    assert response.status_code == 200, response.text
    data = response.json()
    days = [e["date"] for e in data["events"]]
    assert days == sorted(days) and days[0] == "2024-12-03"
    first = data["events"][0]
    assert first["provenance"] == "stated" and first["article_id"] == "fire-1"
    text = client.get("/api/articles/fire-1").json()["text"]
    assert text[first["start"] : first["end"]] == first["sentence"]
    assert [m["article_id"] for m in first["also"]] == ["fire-2"]


def test_timeline_takes_the_search_filters(client: TestClient) -> None:
    data = client.get(
        "/api/timeline",
        params={"q": "Caskell factory fire", "published_from": "2024-12-08"},
    ).json()
    assert {e["article_id"] for e in data["events"]} == {"fire-2"}
    bad = client.get(
        "/api/timeline",
        params={"q": "fire", "published_from": "2024-12-08", "published_to": "2024-12-01"},
    )
    assert bad.status_code == 422


def test_timeline_of_a_period_without_articles_says_so(client: TestClient) -> None:
    data = client.get(
        "/api/timeline", params={"q": "Caskell factory fire in 2019", "as_of": "2025-01-01"}
    ).json()
    assert data["events"] == [] and data["time_window"]["from"] == "2019-01-01"
    assert data["refusal"] == "no articles from that period"
