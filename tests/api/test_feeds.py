"""Feeds and pages over HTTP: added with the write key, fetched at once, their articles
answering questions; hostile feeds recorded, never a 5xx."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench.feedserver import FeedServer, Route, feed_server
from index.fetch import Fetcher
from service.poller import FeedService, Poller
from service.settings import Settings
from tests.conftest import make_client
from tests.fakes import FakeEmbedder
from tests.feeds import serve_feeds

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def settings(data_dir: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "api_key": KEY,
        "refusal_threshold": 0.05,
        "answer_model": False,
        "feed_poll": False,
        "fetch_allow_private": True,
        "fetch_host_delay_seconds": 0,
        "fetch_timeout_seconds": 2,
        "fetch_max_bytes": 100_000,
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        serve_feeds(s)
        yield s


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(settings(tmp_path / "data"), FakeEmbedder()) as c:
        yield c


def test_a_feed_added_through_the_api_is_fetched_and_answers_questions(
    writer: TestClient, server: FeedServer
) -> None:
    added = writer.post("/api/feeds", json={"url": server.url("/rss.xml")}, headers=AUTH)
    assert added.status_code == 201, added.text
    feed = added.json()
    assert feed["articles_stored"] == 2 and feed["entries_seen"] == 2
    assert feed["last_outcome"] == "ok" and feed["interval_minutes"] == 15
    assert writer.get("/api/feeds").json()["feeds"][0]["id"] == feed["id"]  # listed openly
    answer = writer.post("/api/ask", json={"question": "When will the ferries run again?"})
    cited = answer.json()["citations"][0]
    assert cited["url"] == server.url("/news/harbour")
    # Refreshing an unchanged feed costs one request, answered 304.
    again = writer.post(f"/api/feeds/{feed['id']}/refresh", headers=AUTH).json()
    assert again["not_modified"] == 1 and again["requests"] == 1 and again["stored"] == 0
    assert writer.delete(f"/api/feeds/{feed['id']}", headers=AUTH).status_code == 200
    assert writer.get("/api/feeds").json()["feeds"] == []


def test_feed_writes_need_the_key(writer: TestClient, server: FeedServer) -> None:
    assert writer.post("/api/feeds", json={"url": server.url("/rss.xml")}).status_code == 401
    assert writer.post("/api/feeds:refresh").status_code == 401
    assert writer.post("/api/feeds", json={"url": "ftp://x/"}, headers=AUTH).status_code == 422
    writer.post("/api/feeds", json={"url": server.url("/atom.xml")}, headers=AUTH)
    twice = writer.post("/api/feeds", json={"url": server.url("/atom.xml")}, headers=AUTH)
    assert twice.status_code == 409


@pytest.mark.parametrize(
    "path",
    ["/broken.xml", "/endless", "/slow", "/to-private", "/to-file", "/news/harbour", "/nope"],
)
def test_a_hostile_feed_is_recorded_with_nothing_stored_and_no_5xx(
    writer: TestClient, server: FeedServer, path: str
) -> None:
    server.routes["/endless"] = Route("<rss>", content_type="application/rss+xml", endless=True)
    server.routes["/slow"] = Route("<rss/>", content_type="application/rss+xml", delay=10)
    server.routes["/to-private"] = Route(
        status=302, headers={"Location": "http://[::ffff:169.254.169.254]/"}
    )
    server.routes["/to-file"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    before = writer.get("/api/articles").json()["total"]
    # QA_FETCH_ALLOW_PRIVATE (to reach the test server) lets the private hop through: it
    # must still end in an error (nothing answers there) and no 5xx; its refusal without the
    # setting is tested in tests/index/test_fetch.py and test_feeds.py.
    response = writer.post("/api/feeds", json={"url": server.url(path)}, headers=AUTH)
    assert response.status_code == 201
    feed = response.json()
    assert feed["last_error"] and feed["last_outcome"] != "ok"
    assert writer.get("/api/articles").json()["total"] == before


def test_without_the_setting_a_loopback_feed_is_refused_naming_it(
    tmp_path: Path, server: FeedServer
) -> None:
    with make_client(settings(tmp_path / "d", fetch_allow_private=False), FakeEmbedder()) as c:
        refused = c.post("/api/feeds", json={"url": server.url("/rss.xml")}, headers=AUTH)
        assert refused.status_code == 422
        assert "QA_FETCH_ALLOW_PRIVATE=true" in refused.json()["detail"]
        page = c.post("/api/articles", json={"url": server.url("/news/harbour")}, headers=AUTH)
        assert page.status_code == 422 and "QA_FETCH_ALLOW_PRIVATE" in page.json()["detail"]
    assert server.requests == []


def test_a_page_is_stored_by_its_url_and_fetching_it_again_updates_it(
    writer: TestClient, server: FeedServer
) -> None:
    url = server.url("/news/bridge")
    first = writer.post("/api/articles", json={"url": url}, headers=AUTH)
    assert first.status_code == 201, first.text
    article_id = first.json()["id"]
    stored = writer.get(f"/api/articles/{article_id}").json()
    assert stored["url"] == url and stored["title"] == "Old bridge to close for repairs"
    again = writer.post("/api/articles", json={"url": url}, headers=AUTH)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    server.routes["/news/bridge"].body = str(server.routes["/news/bridge"].body).replace(
        "eight months", "nine months"
    )
    updated = writer.post("/api/articles", json={"url": url}, headers=AUTH)
    assert updated.json() == {**updated.json(), "id": article_id, "status": "updated"}
    bad = writer.post("/api/articles", json={"url": "file:///etc/passwd"}, headers=AUTH)
    assert bad.status_code == 422 and "only http and https" in bad.json()["detail"]


def test_one_replica_polls_at_a_time(tmp_path: Path, server: FeedServer) -> None:
    """Two servers on one database: the lease lets one poll; the other waits its turn."""
    s = settings(tmp_path / "data")
    with make_client(s, FakeEmbedder()) as a, make_client(s, FakeEmbedder()) as b:
        a.post("/api/feeds", json={"url": server.url("/atom.xml")}, headers=AUTH)
        fetcher = Fetcher(allow_private=True, host_delay=0)
        one = Poller(FeedService.build(s, a.app.state.services.corpus, FakeEmbedder(), fetcher))
        two = Poller(FeedService.build(s, b.app.state.services.corpus, FakeEmbedder(), fetcher))
        assert one.run_once() is not None
        assert two.run_once() is None
        one.stop()  # gives the lease up
        assert two.run_once() is not None


def test_metrics_count_fetches_feeds_and_stories(writer: TestClient, server: FeedServer) -> None:
    writer.post("/api/feeds", json={"url": server.url("/rss.xml")}, headers=AUTH)
    writer.post("/api/feeds", json={"url": server.url("/broken.xml")}, headers=AUTH)
    text = writer.get("/metrics").text
    # Both feeds and the RSS feed's two pages were fetched; the broken one then failed to parse.
    assert 'qa_fetches_total{outcome="ok"} 4.0' in text
    assert "qa_feeds 2.0" in text and "qa_feeds_failing 1.0" in text
    assert "qa_feed_articles_stored 2.0" in text
    assert "qa_stories " in text


def test_qa_serve_polls_in_the_background(tmp_path: Path, server: FeedServer) -> None:
    """A feed registered (due) before the server starts is fetched by its poller, unasked."""
    with make_client(settings(tmp_path / "data"), FakeEmbedder()) as c:
        c.app.state.feeds.registry.add(server.url("/atom.xml"))  # type: ignore[attr-defined]
    assert server.hits("/atom.xml") == 0
    with make_client(settings(tmp_path / "data", feed_poll=True), FakeEmbedder()) as c:
        deadline = time.monotonic() + 10
        while not c.get("/api/feeds").json()["feeds"][0]["last_fetch"]:
            assert time.monotonic() < deadline, "the poller did not fetch the feed"
            time.sleep(0.1)
        assert server.hits("/atom.xml") == 1
        assert c.get("/api/feeds").json()["feeds"][0]["articles_stored"] == 1
