"""Questions that name a time or ask for the latest word, answered through ``Answerer.ask``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from index.corpus import Corpus
from index.models import Article
from qa.answer import Answerer
from qa.models import Filters
from qa.retrieve import Retriever
from tests.fakes import FakeEmbedder

D = date.fromisoformat
DATED = [
    Article(
        id="strike-1",
        title="Dock strike begins at Pellinport",
        text="The dock strike at Pellinport began on Monday. "
        "The dockers were offered a pay rise of 3 per cent.",
        published="2025-04-07",
    ),
    Article(
        id="strike-2",
        title="Dock strike at Pellinport enters second week",
        text="The dock strike at Pellinport entered its second week. "
        "The dockers were offered a pay rise of 5 per cent.",
        published="2025-04-15",
    ),
    Article(
        id="chess",
        title="Chess final ends in a draw",
        text="The world chess final ended in a draw after six hours of play.",
        published="2024-01-10",
    ),
]


@pytest.fixture
def answerer(tmp_path: Path) -> Iterator[Answerer]:
    embedder = FakeEmbedder()
    corpus = Corpus(tmp_path / "data", embedder.name, embedder.dimension)
    corpus.add_articles(DATED, embedder)
    yield Answerer(corpus, Retriever(embedder, recency_margin=0.1))
    corpus.close()


def test_a_named_period_limits_the_answer_to_its_articles_and_is_reported(
    answerer: Answerer,
) -> None:
    answer = answerer.ask(
        "What pay rise were the dockers offered last week?", as_of=D("2025-04-16")
    )
    assert answer.answered
    assert {c.hit.article.id for c in answer.citations} == {"strike-1"}
    assert answer.text is not None and "3 per cent" in answer.text
    window = answer.time_window
    assert window is not None and window.phrase == "last week"
    assert (window.start, window.end) == (D("2025-04-07"), D("2025-04-13"))


def test_the_anchor_defaults_to_today(answerer: Answerer) -> None:
    answer = answerer.ask("What pay rise were the dockers offered yesterday?")
    assert answer.time_window is not None
    assert answer.time_window.start == date.fromordinal(date.today().toordinal() - 1)


def test_a_period_with_no_article_is_answered_from_every_date_and_says_so(
    answerer: Answerer,
) -> None:
    # "in 2023" may be history that later articles tell: it is searched for as written.
    answer = answerer.ask("What were the dockers offered in 2023?", as_of=D("2025-05-01"))
    assert answer.widened and not answer.period_empty and answer.citations
    assert answer.time_window is not None and answer.time_window.phrase == "in 2023"


def test_undated_articles_still_answer_a_question_naming_a_year(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    corpus = Corpus(tmp_path / "undated", embedder.name, embedder.dimension)
    corpus.add_articles(
        [Article(id="oil", title="Oil", text="In 1974 Japan lifted its oil embargo.")], embedder
    )
    answer = Answerer(corpus, Retriever(embedder)).ask("What did Japan lift in 1974?")
    corpus.close()
    assert answer.answered and answer.widened
    assert answer.text is not None and "embargo" in answer.text


def test_a_period_outside_the_filters_is_refused_as_such(answerer: Answerer) -> None:
    filters = Filters(published_to="2025-04-01")
    answer = answerer.ask(
        "What were the dockers offered last week?", filters=filters, as_of=D("2025-04-16")
    )
    assert answer.period_empty and not answer.answered and not answer.citations


def test_the_tighter_of_window_and_filters_wins(answerer: Answerer) -> None:
    filters = Filters(published_from="2025-04-10")
    answer = answerer.ask(
        "What were the dockers offered in April?", filters=filters, as_of=D("2025-05-01")
    )
    assert {c.hit.article.id for c in answer.citations} == {"strike-2"}


def test_evergreen_answers_do_not_move_with_the_anchor(answerer: Answerer) -> None:
    question = "What pay rise were the dockers offered?"
    first = answerer.ask(question, as_of=D("2025-04-16"))
    later = answerer.ask(question, as_of=D("2030-01-01"))
    assert first.time_window is None and later.time_window is None
    assert first.text == later.text
    assert [c.hit.passage.id for c in first.citations] == [
        c.hit.passage.id for c in later.citations
    ]


def test_an_inherited_window_applies_when_the_question_names_none(answerer: Answerer) -> None:
    earlier = answerer.ask("What happened at Pellinport last week?", as_of=D("2025-04-16"))
    answer = answerer.ask("What were the dockers offered?", inherited=earlier.time_window)
    assert answer.time_window == earlier.time_window
    assert {c.hit.article.id for c in answer.citations} == {"strike-1"}
    own = answerer.ask(
        "What were the dockers offered this week?",
        inherited=earlier.time_window,
        as_of=D("2025-04-16"),
    )
    assert own.time_window is not None and own.time_window.phrase == "this week"


def test_latest_questions_answer_from_the_newest_report(answerer: Answerer) -> None:
    answer = answerer.ask("What pay rise are the dockers offered now?", as_of=D("2025-05-01"))
    assert answer.citations[0].hit.article.id == "strike-2"
    assert answer.text is not None and "5 per cent" in answer.text
    assert answer.time_window is None


def test_the_recency_prior_is_bounded_an_old_article_still_answers(answerer: Answerer) -> None:
    answer = answerer.ask("How did the chess final end, the latest?", as_of=D("2025-05-01"))
    assert answer.answered and answer.citations[0].hit.article.id == "chess"
    assert answer.text is not None and "draw" in answer.text
