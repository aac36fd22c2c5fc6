"""Timelines: a subject's dated sentences, oldest first, merged across articles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from index.corpus import Corpus
from index.models import Article
from qa.answer import Answerer
from qa.retrieve import Retriever
from qa.timeline import asks_for_timeline, build_timeline, subject_of
from tests.fakes import FakeEmbedder

D = date.fromisoformat
# Friday 6 December 2024, and the Tuesday after.
FIRE = [
    Article(
        id="fire-1",
        title="Fire at the Caskell factory",
        text="The Caskell factory fire started on Tuesday night. "
        "The Caskell factory employs 300 people. "
        "The Caskell factory will reopen on 20 December, the owners said.",
        published="2024-12-06",
    ),
    Article(
        id="fire-2",
        title="Caskell factory fire: investigators on site",
        text="The Caskell factory fire started on 3 December in the paint store. "
        "Investigators visited the Caskell factory on Monday.",
        published="2024-12-10",
    ),
    Article(
        id="chess",
        title="Chess final ends in a draw",
        text="The world chess final ended in a draw on Sunday.",
        published="2024-12-09",
    ),
    Article(id="undated", title="Caskell", text="The Caskell factory fire was large."),
]


@pytest.fixture
def answerer(tmp_path: Path) -> Iterator[Answerer]:
    embedder = FakeEmbedder()
    corpus = Corpus(tmp_path / "data", embedder.name, embedder.dimension)
    corpus.add_articles(FIRE, embedder)
    yield Answerer(corpus, Retriever(embedder))
    corpus.close()


def test_events_are_dated_by_the_day_they_state_else_by_publication_oldest_first(
    answerer: Answerer,
) -> None:
    timeline = build_timeline(answerer, "timeline of the Caskell factory fire")
    assert timeline.subject == "the Caskell factory fire"
    dated = [(e.day.isoformat(), e.provenance, e.mention.article.id) for e in timeline.events]
    assert dated == [
        ("2024-12-03", "stated", "fire-1"),  # "on Tuesday" in an article of Friday 6 December
        ("2024-12-06", "published", "fire-1"),  # employs 300 people
        ("2024-12-06", "published", "fire-1"),  # "will reopen on 20 December": a plan
        ("2024-12-09", "stated", "fire-2"),  # "on Monday" in an article of Tuesday 10 December
    ]


def test_one_event_reported_by_two_articles_is_merged(answerer: Answerer) -> None:
    first = build_timeline(answerer, "timeline of the Caskell factory fire").events[0]
    assert [m.article.id for m in first.also] == ["fire-2"]
    assert "3 December" in first.also[0].sentence.text


def test_each_event_cites_its_sentence_by_offsets(answerer: Answerer) -> None:
    texts = {a.id: a.text for a in FIRE}
    for event in build_timeline(answerer, "Caskell factory fire").events:
        for mention in (event.mention, *event.also):
            span = mention.sentence
            assert texts[mention.article.id][span.start : span.end] == span.text


def test_sentences_off_the_subject_and_undated_articles_are_left_out(answerer: Answerer) -> None:
    events = build_timeline(answerer, "timeline of the Caskell factory fire").events
    ids = {m.article.id for e in events for m in (e.mention, *e.also)}
    assert "chess" not in ids and "undated" not in ids


def test_a_period_in_the_request_narrows_the_timeline(answerer: Answerer) -> None:
    timeline = build_timeline(
        answerer, "Caskell factory fire last week", as_of=D("2024-12-11")
    )  # 2 to 8 December
    assert timeline.time_window is not None
    assert {e.mention.article.id for e in timeline.events} == {"fire-1"}
    empty = build_timeline(answerer, "Caskell factory fire in 2020", as_of=D("2024-12-11"))
    assert not empty.events


@pytest.mark.parametrize(
    ("query", "subject"),
    [
        ("timeline of the dock strike", "the dock strike"),
        ("Timeline for CPEC", "CPEC"),
        ("Show me a timeline of the recall", "the recall"),
        ("What happened with the Tiverly Bridge?", "the Tiverly Bridge"),
        ("what has happened to the budget", "the budget"),
        ("history of the port", "the port"),
    ],
)
def test_timeline_requests_are_recognised(query: str, subject: str) -> None:
    assert asks_for_timeline(query)
    assert subject_of(query) == subject


@pytest.mark.parametrize(
    "question", ["What is CPEC?", "Who opened the bridge?", "What happened at the meeting?"]
)
def test_other_questions_are_not_timeline_requests(question: str) -> None:
    assert not asks_for_timeline(question)
