"""`qa feeds add|list|remove|poll` and `qa ingest https://…`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.feedserver import FeedServer, feed_server
from cli.main import cli
from service.settings import Settings
from tests.conftest import make_client
from tests.fakes import FakeEmbedder
from tests.feeds import serve_feeds


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        serve_feeds(s)
        yield s


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands embed with the fake embedder, on loopback with no pacing."""
    embedder = FakeEmbedder()
    monkeypatch.setattr("cli.feeds.load_embedder", lambda settings: embedder)
    monkeypatch.setattr("cli.main.load_embedder", lambda settings: embedder)
    monkeypatch.setenv("QA_FETCH_HOST_DELAY_SECONDS", "0")
    monkeypatch.setenv("QA_INGEST_DEFAULT_CORPUS", "false")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.usefixtures("fake_model")
def test_a_feed_added_from_the_cli_is_fetched_and_answers_questions(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_FETCH_ALLOW_PRIVATE", "true")
    data = str(tmp_path / "data")
    added = run("feeds", "add", server.url("/rss.xml"), "--every", "30", "--data-dir", data)
    assert "added feed 1" in added and "2 articles stored" in added
    listed = run("feeds", "list", "--data-dir", data)
    assert "every 30 min" in listed and "2 entries, 2 articles" in listed
    polled = run("feeds", "poll", "--all", "--data-dir", data)
    assert "1 unchanged (304)" in polled and "1 requests" in polled
    settings = Settings(data_dir=tmp_path / "data", refusal_threshold=0.05, answer_model=False)
    with make_client(settings, FakeEmbedder()) as client:
        answer = client.post("/api/ask", json={"question": "Why will the old bridge close?"})
        assert answer.json()["citations"][0]["url"] == server.url("/news/bridge")
    assert "removed feed 1" in run("feeds", "remove", "1", "--data-dir", data)
    assert run("feeds", "list", "--data-dir", data) == ""


@pytest.mark.usefixtures("fake_model")
def test_without_the_setting_the_cli_refuses_a_loopback_feed_naming_it(
    tmp_path: Path, server: FeedServer
) -> None:
    result = CliRunner().invoke(
        cli, ["feeds", "add", server.url("/rss.xml"), "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 1
    assert "QA_FETCH_ALLOW_PRIVATE=true" in result.output
    assert server.requests == []


@pytest.mark.usefixtures("fake_model")
def test_qa_ingest_reads_a_page_by_url(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_FETCH_ALLOW_PRIVATE", "true")
    data = str(tmp_path / "data")
    url = server.url("/news/library")
    assert "added 1" in run("ingest", "--no-progress", "--data-dir", data, url)
    assert "unchanged 1" in run("ingest", "--no-progress", "--data-dir", data, url)
    failed = CliRunner().invoke(
        cli, ["ingest", "--no-progress", "--data-dir", data, server.url("/missing")]
    )
    assert failed.exit_code == 1 and "HTTP 404" in failed.output
