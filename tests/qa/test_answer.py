"""The answering pipeline on a five-article corpus with the fake embedder."""

from __future__ import annotations

import pytest

from index.corpus import Corpus
from qa.answer import Answerer
from qa.errors import QuestionError
from qa.refusal import RefusalModel
from qa.retrieve import Retriever
from tests.fakes import FakeEmbedder


@pytest.fixture
def answerer(corpus: Corpus, embedder: FakeEmbedder) -> Answerer:
    # Answer when the best passage's cosine reaches 0.3.
    refusal = RefusalModel(weights=(10.0, 0.0, 0.0, 0.0), bias=-3.0, threshold=0.5)
    return Answerer(corpus, Retriever(embedder), refusal=refusal)


def test_answer_quotes_the_best_sentence_with_its_marker(answerer: Answerer) -> None:
    answer = answerer.ask("Who evacuated residents before the volcano eruption?", top_k=3)
    assert answer.answered
    first = answer.citations[0]
    assert first.hit.article.id == "volcano"
    assert first.highlight is not None
    assert answer.text == f"{first.highlight.text} [1]"
    assert "evacuated" in first.highlight.text
    assert first.hit.passage.start <= first.highlight.start < first.highlight.end
    assert first.highlight.end <= first.hit.passage.end
    assert [c.rank for c in answer.citations] == [1, 2, 3]
    assert all(c.highlight is None for c in answer.citations[1:])


def test_unrelated_question_is_refused_but_related_passages_return(answerer: Answerer) -> None:
    answer = answerer.ask("quantum chromodynamics gluon", top_k=2)
    assert not answer.answered
    assert answer.text is None
    assert len(answer.citations) == 2
    assert all(c.highlight is None for c in answer.citations)


@pytest.mark.parametrize(
    ("question", "top_k", "message"),
    [("   ", 5, "empty"), ("bees", 0, "between 1 and 50"), ("bees", 51, "between 1 and 50")],
)
def test_bad_questions_are_refused(answerer: Answerer, question: str, top_k: int, message: str):
    with pytest.raises(QuestionError, match=message):
        answerer.ask(question, top_k)


def test_an_acronym_the_articles_spell_out_is_answered_though_cosines_are_low(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    from index.models import Article

    corpus.add_articles(
        [
            Article(
                id="corridor",
                title="Corridor",
                text="Work on the China-Pakistan Economic Corridor (CPEC) slowed after attacks.",
            )
        ],
        embedder,
    )
    never = RefusalModel(
        weights=(0.0, 0.0, 0.0, 0.0), bias=-10.0, threshold=0.5
    )  # refuses everything
    answerer = Answerer(corpus, Retriever(embedder), refusal=never)
    answer = answerer.ask("What does CPEC stand for?")
    assert answer.answered
    assert answer.span is not None and answer.span.text == "China-Pakistan Economic Corridor"
    # Other questions are still refused by the model.
    assert not answerer.ask("What slowed after the attacks?").answered
    assert not answerer.ask("What does XYZ stand for?").answered
