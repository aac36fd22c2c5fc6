"""Adding, replacing and deleting articles over HTTP, with the real SQLite file and FAISS index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

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
    "author": "Mia Park",
    "published": "2024-03-20",
}


def settings(data_dir: Path, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, api_key=KEY, refusal_threshold=0.05, **extra)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def writer(data_dir: Path) -> Iterator[TestClient]:
    with make_client(settings(data_dir), FakeEmbedder()) as c:
        yield c


def cited_articles(client: TestClient, question: str, **body: object) -> list[str]:
    response = client.post("/api/ask", json={"question": question, "top_k": 10, **body})
    assert response.status_code == 200, response.text
    return [c["article_id"] for c in response.json()["citations"]]


def test_add_ask_update_ask_delete_ask_restart_ask(writer: TestClient, data_dir: Path) -> None:
    response = writer.post("/api/articles", json=REEF, headers=AUTH)
    assert response.status_code == 201
    assert response.json() == {"id": "reef", "status": "added", "passages": 1}
    assert cited_articles(writer, "reef bleached heatwave")[0] == "reef"

    changed = {**REEF, "text": "Divers found the reef recovering after the cyclone season."}
    response = writer.put("/api/articles/reef", json=changed, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["status"] == "updated"
    first = writer.post("/api/ask", json={"question": "reef recovering cyclone divers"}).json()
    assert first["citations"][0]["text"] == changed["text"]
    assert all("bleached" not in c["text"] for c in first["citations"])

    response = writer.delete("/api/articles/reef", headers=AUTH)
    assert response.json() == {"id": "reef", "status": "deleted", "passages": 1}
    assert "reef" not in cited_articles(writer, "reef recovering cyclone divers")
    assert writer.get("/api/articles/reef").status_code == 404
    assert writer.delete("/api/articles/reef", headers=AUTH).status_code == 404

    with make_client(settings(data_dir), FakeEmbedder()) as restarted:
        assert "reef" not in cited_articles(restarted, "reef recovering cyclone divers")
        ids = [a["id"] for a in restarted.get("/api/articles").json()["articles"]]
        assert "reef" not in ids


def test_same_article_twice_changes_nothing(writer: TestClient) -> None:
    assert writer.post("/api/articles", json=REEF, headers=AUTH).status_code == 201
    again = writer.post("/api/articles", json=REEF, headers=AUTH)
    assert again.status_code == 200
    assert again.json() == {"id": "reef", "status": "unchanged", "passages": 0}
    clash = writer.post("/api/articles", json={**REEF, "text": "Other text."}, headers=AUTH)
    assert clash.status_code == 409
    assert "PUT /api/articles/reef replaces it" in clash.json()["detail"]


def test_upload_files(writer: TestClient) -> None:
    html = (
        "<html><head><title>Harbour strike ends</title></head><body><nav>Home</nav><article>"
        "<h1>Harbour strike ends</h1><p>The harbour strike ended on Tuesday after three weeks, "
        "when the union accepted the pay offer from the port authority.</p></article></body></html>"
    )
    response = writer.post(
        "/api/articles", files={"file": ("strike.html", html, "text/html")}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    assert response.json()["id"] == "strike"
    article = writer.get("/api/articles/strike").json()
    assert article["title"] == "Harbour strike ends"
    assert "Home" not in article["text"]
    text = "# Night trains\n\nNight trains return to the northern line in spring."
    response = writer.post(
        "/api/articles", files={"file": ("night.md", text, "text/markdown")}, headers=AUTH
    )
    assert response.status_code == 201
    assert writer.get("/api/articles/night").json()["title"] == "Night trains"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"   \n", "the text is empty"),
        ("binary.txt", b"\x00\x01\x02", "not a text file"),
        ("latin.txt", "Caf\xe9 au lait\n\nText.".encode("latin-1"), "not UTF-8 text"),
        ("page.html", b"<html><body><nav>Menu</nav></body></html>", "no main content"),
        ("doc.pdf", b"%PDF-1.4", "unsupported file type .pdf"),
    ],
)
def test_bad_uploads_are_refused_with_reason(
    writer: TestClient, name: str, content: bytes, message: str
) -> None:
    response = writer.post("/api/articles", files={"file": (name, content)}, headers=AUTH)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert name.split(".")[0] not in [
        a["id"] for a in writer.get("/api/articles").json()["articles"]
    ]


def test_bad_json_articles(writer: TestClient) -> None:
    response = writer.post("/api/articles", json={"title": "No text"}, headers=AUTH)
    assert response.status_code == 422
    assert "text" in response.json()["detail"]
    response = writer.put("/api/articles/a", json={**REEF, "id": "b"}, headers=AUTH)
    assert response.status_code == 422
    assert "differs from the path's 'a'" in response.json()["detail"]


def test_an_empty_id_in_the_body_is_no_id(writer: TestClient) -> None:
    # As for POST and JSONL lines, where an empty id is derived; PUT takes the path's.
    response = writer.put("/api/articles/reef", json={**REEF, "id": ""}, headers=AUTH)
    assert response.status_code == 201, response.text
    assert response.json()["id"] == "reef"


def test_bulk_reports_failed_lines_and_stores_the_rest(writer: TestClient) -> None:
    lines = [
        json.dumps({"id": "one", "title": "One", "text": "The first article about tides."}),
        "{broken",
        json.dumps({"id": "two", "title": "Two"}),
        json.dumps({"id": "three", "title": "Three", "text": "The third article about winds."}),
    ]
    response = writer.post("/api/articles:bulk", content="\n".join(lines), headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["added"] == ["one", "three"]
    assert [f["line"] for f in body["failed"]] == [2, 3]
    assert "not valid JSON" in body["failed"][0]["reason"]
    again = writer.post("/api/articles:bulk", content="\n".join(lines), headers=AUTH).json()
    assert again["unchanged"] == ["one", "three"] and again["added"] == []


def test_oversized_body_is_refused(data_dir: Path) -> None:
    with make_client(settings(data_dir, max_upload_bytes=200), FakeEmbedder()) as c:
        big = {**REEF, "text": "word " * 100}
        response = c.post("/api/articles", json=big, headers=AUTH)
        assert response.status_code == 413
        assert "the limit is 200" in response.json()["detail"]


def test_writes_need_the_key(writer: TestClient, data_dir: Path, tmp_path: Path) -> None:
    assert writer.post("/api/articles", json=REEF).status_code == 401
    wrong = writer.delete("/api/articles/x", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    with make_client(Settings(data_dir=tmp_path / "other"), FakeEmbedder()) as no_key:
        response = no_key.post("/api/articles", json=REEF, headers=AUTH)
        assert response.status_code == 403
        assert "QA_API_KEY" in response.json()["detail"]
        assert no_key.get("/api/articles").status_code == 200


def test_filters_apply_before_ranking(writer: TestClient) -> None:
    articles = [
        {**REEF},
        {
            "id": "reef2",
            "title": "Reef survey",
            "text": "A reef survey counted fish.",
            "source": "Harbour Post",
            "author": "Li Wei",
            "published": "2023-01-05",
        },
    ]
    writer.post("/api/articles:bulk", content="\n".join(map(json.dumps, articles)), headers=AUTH)
    question = "reef bleached heatwave"
    assert cited_articles(writer, question, filters={"source": "harbour post"}) == ["reef2"]
    assert cited_articles(writer, question, filters={"author": "li"}) == ["reef2"]
    assert cited_articles(writer, question, filters={"article_ids": ["reef2"]}) == ["reef2"]
    assert cited_articles(
        writer, question, filters={"published_from": "2024-01-01", "published_to": "2024-12-31"}
    ) == ["reef"]
    search = writer.get("/api/search", params={"q": question, "source": "Ocean News"}).json()
    assert [c["article_id"] for c in search["citations"]] == ["reef"]
    bad = writer.post(
        "/api/ask",
        json={
            "question": "x",
            "filters": {"published_from": "2024-02-01", "published_to": "2024-01-01"},
        },
    )
    assert bad.status_code == 422
    assert "published_from must not be after published_to" in bad.json()["detail"]
    none = writer.post("/api/ask", json={"question": question, "filters": {"article_ids": ["zzz"]}})
    assert none.json()["answered"] is False and none.json()["citations"] == []


@pytest.mark.parametrize(
    "day", [1704067200, "1704067200", "12345", "2024-01-01T00:00", "01/02/2024"]
)
def test_a_filter_day_must_be_written_as_a_day(writer: TestClient, day: object) -> None:
    # A Unix timestamp at midnight would otherwise pass as that day, silently.
    asked = writer.post("/api/ask", json={"question": "x", "filters": {"published_from": day}})
    assert asked.status_code == 422
    assert "a day is written YYYY-MM-DD" in asked.json()["detail"]
    assert "published_from" in asked.json()["detail"]
    searched = writer.get("/api/search", params={"q": "x", "published_to": str(day)})
    assert searched.status_code == 422
    assert "published_to: a day is written YYYY-MM-DD" in searched.json()["detail"]


def test_deleted_default_article_stays_deleted_after_restart(data_dir: Path) -> None:
    with make_client(settings(data_dir), FakeEmbedder()) as client:
        listed = client.get("/api/articles").json()
        assert listed["total"] == 1
        bundled = listed["articles"][0]["id"]
        assert client.delete(f"/api/articles/{bundled}", headers=AUTH).status_code == 200
        assert client.get("/api/articles").json()["total"] == 0
    with make_client(settings(data_dir), FakeEmbedder()) as client:
        assert client.get("/api/articles").json() == {
            "total": 0,
            "limit": 100,
            "offset": 0,
            "articles": [],
        }
        assert client.get("/readyz").json()["articles"] == 0
        reply = client.post("/api/ask", json={"question": "Who is China's ambassador?"}).json()
        assert reply["answered"] is False and reply["citations"] == []


def test_bulk_ingest_goes_in_batches_and_lists_in_id_order(writer: TestClient) -> None:
    lines = "".join(
        json.dumps({"id": f"b{i}", "title": f"Bulletin {i}", "text": f"Bulletin {i} on tides."})
        + "\n"
        for i in range(200)
    )
    response = writer.post("/api/articles:bulk", content=lines, headers=AUTH)
    assert response.status_code == 200
    assert len(response.json()["added"]) == 200
    page = writer.get("/api/articles", params={"limit": 3, "offset": 1}).json()
    assert page["total"] == 201
    assert [a["id"] for a in page["articles"]] == ["b1", "b10", "b100"]


def test_bulk_lines_end_at_newlines_only(writer: TestClient) -> None:
    record = {"id": "sep", "title": "Separators", "text": "One\u2028two\u2029three."}
    body = json.dumps(record, ensure_ascii=False) + "\n{broken\n"
    response = writer.post("/api/articles:bulk", content=body.encode("utf-8"), headers=AUTH)
    assert response.status_code == 200
    assert response.json()["added"] == ["sep"]
    assert [f["line"] for f in response.json()["failed"]] == [2]
    assert writer.get("/api/articles/sep").json()["text"] == record["text"]


def test_bulk_refuses_a_line_with_a_lone_surrogate_and_stores_the_rest(
    writer: TestClient,
) -> None:
    lines = [
        json.dumps({"id": "one", "title": "One", "text": "The first article about tides."}),
        json.dumps({"id": "two", "title": "T\ud800wo", "text": "A title that is not Unicode."}),
        json.dumps({"id": "three", "title": "Three", "text": "The third article about winds."}),
    ]
    response = writer.post("/api/articles:bulk", content="\n".join(lines), headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["added"] == ["one", "three"]
    assert [f["line"] for f in body["failed"]] == [2]
    assert "field 'title' holds a lone surrogate" in body["failed"][0]["reason"]


def test_bulk_refuses_a_repeated_id_and_keeps_the_first(writer: TestClient) -> None:
    lines = [
        json.dumps({"title": "Tide tables", "text": "The first article about tides."}),
        json.dumps({"title": "Tide tables", "text": "A second article, same title, no id."}),
    ]
    body = writer.post("/api/articles:bulk", content="\n".join(lines), headers=AUTH).json()
    assert body["added"] == ["tide-tables"]
    assert body["failed"] == [
        {
            "line": 2,
            "reason": "duplicate id 'tide-tables': body:1 has the same id; "
            "give each article its own id",
        }
    ]
    assert "first article" in writer.get("/api/articles/tide-tables").json()["text"]


def test_an_id_with_a_trailing_newline_is_refused(writer: TestClient) -> None:
    response = writer.put("/api/articles/reef%0A", json=REEF | {"id": None}, headers=AUTH)
    assert response.status_code == 422
    assert "article id 'reef\\n' is invalid" in response.json()["detail"]


def test_an_article_whose_text_is_only_control_characters_is_refused(
    writer: TestClient,
) -> None:
    response = writer.post("/api/articles", json={**REEF, "text": "\u0000\u0007"}, headers=AUTH)
    assert response.status_code == 422
    assert "field 'text' is empty" in response.json()["detail"]
    assert writer.get("/api/articles/reef").status_code == 404
