"""The chat page in headless Chromium against a live server."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SEED
from tests.live import QA, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
XSS_TITLE = "<script>window.__pwned = 1</script> Harbour report"
XSS_TEXT = (
    'The harbour master <img src=x onerror="window.__pwned = 2"> said the cranes stopped. '
    "Dockworkers walked out over pay on Tuesday."
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server on the default corpus plus an article whose title and text hold markup."""
    root = tmp_path_factory.mktemp("browser")
    feed = root / "xss.jsonl"
    feed.write_text(json.dumps({"id": "xss", "title": XSS_TITLE, "text": XSS_TEXT}) + "\n")
    subprocess.run(
        [QA, "ingest", "--no-progress", "--data-dir", str(root / "data"), str(SEED), str(feed)],
        check=True,
    )
    live = LiveServer(root / "data")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make chromium`")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.goto(server.url)
    yield page
    context.close()


def ask(page, question: str):  # type: ignore[no-untyped-def]
    page.fill("#question", question)
    page.press("#question", "Enter")
    reply = page.locator(".reply").last
    reply.wait_for(timeout=20_000)
    return reply


def test_question_shows_answer_and_citations(page) -> None:  # type: ignore[no-untyped-def]
    reply = ask(page, "What did the Chinese ambassador say about the attacks?")
    assert reply.get_attribute("data-answered") == "true"
    assert "attacked twice in only six months" in reply.locator(".answer").inner_text()
    assert reply.locator(".citation").count() == 5
    assert "Umair Jamal" in reply.inner_text()


def test_citation_opens_article_with_passage_highlighted(page) -> None:  # type: ignore[no-untyped-def]
    reply = ask(page, "What did the Chinese ambassador say about the attacks?")
    reply.locator(".citation").first.click()
    panel = page.locator("#article-panel")
    panel.wait_for(state="visible")
    assert page.locator("#article-title").inner_text() == (
        "China-Pakistan Ties Under Pressure Over Security Concerns"
    )
    passage = page.locator("#article-text .passage-highlight")
    assert "Jiang Zaidong" in passage.inner_text()
    assert "six months" in page.locator("#article-text .sentence-highlight").inner_text()
    assert passage.is_visible()
    box = passage.bounding_box()
    assert box is not None and 0 <= box["y"] < 800
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")


def test_out_of_corpus_question_shows_not_found(page) -> None:  # type: ignore[no-untyped-def]
    reply = ask(page, "What is the boiling point of water?")
    assert reply.get_attribute("data-answered") == "false"
    assert reply.locator(".not-found").is_visible()


def test_markup_in_articles_is_shown_as_text(page) -> None:  # type: ignore[no-untyped-def]
    reply = ask(page, "Why did the dockworkers at the harbour walk out?")
    citation = reply.locator(".citation[data-article-id='xss']").first
    assert "<img src=x onerror=" in reply.inner_text()
    citation.click()
    page.locator("#article-panel").wait_for(state="visible")
    assert page.locator("#article-title").inner_text() == XSS_TITLE
    assert '<img src=x onerror="window.__pwned = 2">' in page.locator("#article-text").inner_text()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#article-text img").count() == 0


def test_follow_up_history_survives_reload_and_new_conversation_clears_it(page, server) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Who is the Chinese ambassador to Pakistan?")
    reply = ask(page, "What did he say about the attacks?")
    page.locator(".reply").nth(1).wait_for()
    assert page.locator(".reply").count() == 2
    assert "six months" in reply.locator(".answer").inner_text()
    cid = page.evaluate("localStorage.getItem('cited-answers:conversation-id')")
    stored = httpx.get(f"{server.url}/api/conversations/{cid}").json()
    assert [t["question"] for t in stored["turns"]] == [
        "Who is the Chinese ambassador to Pakistan?",
        "What did he say about the attacks?",
    ]
    page.reload()
    page.locator(".reply").nth(1).wait_for()
    assert page.locator(".reply").count() == 2
    assert "What did he say about the attacks?" in page.locator("#thread").inner_text()
    page.click("#new-conversation")
    assert page.locator(".reply").count() == 0
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.locator(".reply").count() == 0


def test_feedback_buttons_record_a_rating(page, server) -> None:  # type: ignore[no-untyped-def]
    reply = ask(page, "What did the Chinese ambassador say about the attacks?")
    reply.locator(".feedback-up").click()
    status = reply.locator(".feedback-status")
    status.filter(has_text="Thanks").wait_for()
    assert reply.locator(".feedback-up").get_attribute("aria-pressed") == "true"
    cid = page.evaluate("localStorage.getItem('cited-answers:conversation-id')")
    turns = httpx.get(f"{server.url}/api/conversations/{cid}").json()["turns"]
    assert turns[-1]["feedback"] == "up"


def test_question_restricted_to_one_article(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#article-filter option[value='xss']").wait_for(state="attached")
    page.select_option("#article-filter", "xss")
    reply = ask(page, "What did the Chinese ambassador say about the attacks?")
    ids = {c.get_attribute("data-article-id") for c in reply.locator(".citation").all()}
    assert ids == {"xss"}


def test_errors_are_shown_as_messages(page) -> None:  # type: ignore[no-untyped-def]
    page.fill("#question", "x" * 1200)
    page.press("#question", "Enter")
    error = page.locator(".error").last
    error.wait_for()
    assert "the limit is 1000" in error.inner_text()
    assert page.locator("#send").is_enabled()
