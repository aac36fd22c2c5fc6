"""Answers and searches cite one copy of a syndicated story and list the others in
``also_in``; the grouping survives deletes and rebuilds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.conftest import make_client
from tests.fakes import FakeEmbedder
from tests.stories import COPIES, SAME_SUBJECT

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUESTION = "How many firefighters battled the wildfire near Vila Real?"


def record(article: object) -> dict[str, object]:
    fields = asdict(article)  # type: ignore[call-overload]
    fields["source"] = fields.pop("outlet")
    fields.pop("extra")
    return {k: v for k, v in fields.items() if v is not None}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        api_key=KEY,
        refusal_threshold=0.05,
        answer_model=False,
        feed_poll=False,
        ingest_default_corpus=False,
    )
    with make_client(settings, FakeEmbedder()) as c:
        body = "".join(json.dumps(record(a)) + "\n" for a in [*COPIES, SAME_SUBJECT])
        assert len(c.post("/api/articles:bulk", content=body, headers=AUTH).json()["added"]) == 4
        yield c


def story_citations(citations: list[dict[str, object]]) -> list[dict[str, object]]:
    return [c for c in citations if c["article_id"] in {a.id for a in COPIES}]


def test_an_answer_cites_one_copy_with_the_other_two_in_also_in(client: TestClient) -> None:
    answer = client.post("/api/ask", json={"question": QUESTION, "top_k": 5}).json()
    cited = story_citations(answer["citations"])
    assert {c["article_id"] for c in cited} == {"herald-fire"}  # the earliest, first retrieved
    also = cited[0]["also_in"]
    assert [c["article_id"] for c in also] == ["courier-fire", "gazette-fire"]
    assert also[0] == {
        "article_id": "courier-fire",
        "outlet": "Evening Courier",
        "url": "https://courier.example/news/fire",
        "published": "2026-07-12",
    }
    assert "times-fire-season" not in {c["article_id"] for c in also}


def test_search_collapses_copies_unless_asked_not_to(client: TestClient) -> None:
    collapsed = client.get("/api/search", params={"q": QUESTION, "k": 10}).json()["citations"]
    assert len({c["article_id"] for c in story_citations(collapsed)}) == 1
    every = client.get("/api/search", params={"q": QUESTION, "k": 10, "collapse": "false"})
    cited = story_citations(every.json()["citations"])
    assert {c["article_id"] for c in cited} == {a.id for a in COPIES}
    assert all(c["also_in"] == [] for c in cited)


def test_a_filter_picks_the_copy_it_allows(client: TestClient) -> None:
    body = {"question": QUESTION, "filters": {"source": "Regional Gazette"}}
    cited = story_citations(client.post("/api/ask", json=body).json()["citations"])
    assert cited[0]["article_id"] == "gazette-fire"
    assert {c["article_id"] for c in cited[0]["also_in"]} == {"herald-fire", "courier-fire"}


def test_deleting_the_cited_copy_promotes_another(client: TestClient) -> None:
    assert client.delete("/api/articles/herald-fire", headers=AUTH).status_code == 200
    cited = story_citations(
        client.post("/api/ask", json={"question": QUESTION}).json()["citations"]
    )
    assert cited[0]["article_id"] == "courier-fire"
    assert [c["article_id"] for c in cited[0]["also_in"]] == ["gazette-fire"]


def test_the_grouping_survives_a_rebuild(client: TestClient) -> None:
    client.app.state.services.corpus.rebuild()  # type: ignore[attr-defined]
    cited = story_citations(
        client.post("/api/ask", json={"question": QUESTION}).json()["citations"]
    )
    assert {c["article_id"] for c in cited} == {"herald-fire"}
    assert len(cited[0]["also_in"]) == 2
