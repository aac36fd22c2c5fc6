"""Stored turns read back through the corpus: deleted or replaced passages are not quoted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from index.corpus import Corpus
from index.models import Article
from qa.answer import Answerer
from qa.conversation.history import resolve_turns
from qa.conversation.store import ConversationStore
from qa.conversation.turn import ConversationTurn, ask_in_conversation
from qa.retrieve import Retriever
from tests.conftest import FIVE_ARTICLES
from tests.fakes import FakeEmbedder

VOLCANO = FIVE_ARTICLES[0]


class CountingArticles:
    """The corpus as an article source, counting the reads of each article."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.reads: Counter[str] = Counter()

    def get_article(self, article_id: str) -> Article:
        self.reads[article_id] += 1
        return self.corpus.get_article(article_id)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    s = ConversationStore(tmp_path / "conversations.sqlite")
    yield s
    s.close()


@pytest.fixture
def asked(
    corpus: Corpus, embedder: FakeEmbedder, store: ConversationStore
) -> list[ConversationTurn]:
    """Three turns of conversation "c"; the first two are answered from the volcano article."""
    answerer = Answerer(corpus, Retriever(embedder, max_per_article=1))
    return [
        ask_in_conversation(
            answerer, store, q, top_k=3, conversation_id="c", followup_specificity=0.0
        )
        for q in (
            "Who evacuated the residents before the volcano eruption?",
            "Where did the volcano erupt and where did the lava flow?",
            "How does sourdough bread rise?",
        )
    ]


def test_history_reads_back_what_was_answered(
    corpus: Corpus, store: ConversationStore, asked: list[ConversationTurn]
) -> None:
    history = resolve_turns(store.turns("c"), corpus)
    for live, turn in zip(asked, history, strict=True):
        assert turn.answer == live.answer.text
        assert turn.answer_removed is False
        assert [c.text for c in turn.citations] == [
            c.hit.passage.text for c in live.answer.citations
        ]
        assert [c.article.title for c in turn.citations if c.article] == [
            c.hit.article.title for c in live.answer.citations
        ]


def test_each_article_is_read_once_per_history(
    corpus: Corpus, store: ConversationStore, asked: list[ConversationTurn]
) -> None:
    articles = CountingArticles(corpus)
    resolve_turns(store.turns("c"), articles)
    cited = {c.hit.article.id for t in asked for c in t.answer.citations}
    assert articles.reads == dict.fromkeys(cited, 1)


def test_a_deleted_article_is_removed_and_answers_quoting_it_withheld(
    corpus: Corpus, store: ConversationStore, asked: list[ConversationTurn]
) -> None:
    corpus.delete_article("volcano")
    first, second, bread = resolve_turns(store.turns("c"), corpus)
    for turn in (first, second):
        assert (turn.answer, turn.sentence, turn.answer_removed) == (None, None, True)
        assert turn.stored.turn.answered
        volcano = [c for c in turn.citations if c.ref.article_id == "volcano"]
        assert volcano and all(c.removed and c.text is None for c in volcano)
        assert all(not c.removed for c in turn.citations if c.ref.article_id != "volcano")
    assert bread.answer == asked[2].answer.text and not bread.answer_removed


def test_a_replaced_article_is_removed_where_its_text_changed(
    corpus: Corpus, embedder: FakeEmbedder, store: ConversationStore, asked: list[ConversationTurn]
) -> None:
    rewritten = replace(VOLCANO, text="An eruption began on Monday.\n\n" + VOLCANO.text)
    corpus.add_articles([rewritten], embedder)
    first = resolve_turns(store.turns("c"), corpus)[0]
    assert first.answer is None and first.answer_removed
    assert [c.removed for c in first.citations if c.ref.article_id == "volcano"] == [True]


def test_a_replaced_article_that_still_holds_the_passage_is_quoted(
    corpus: Corpus, embedder: FakeEmbedder, store: ConversationStore, asked: list[ConversationTurn]
) -> None:
    retitled = replace(VOLCANO, title="Eruption on the Reykjanes peninsula")
    corpus.add_articles([retitled], embedder)
    first = resolve_turns(store.turns("c"), corpus)[0]
    assert first.answer == asked[0].answer.text
    [volcano] = [c for c in first.citations if c.ref.article_id == "volcano"]
    assert volcano.article is not None
    assert volcano.article.title == "Eruption on the Reykjanes peninsula"


def test_the_exact_answer_is_read_back_and_withheld_with_its_sentence(
    corpus: Corpus, store: ConversationStore, asked: list[ConversationTurn]
) -> None:
    stored = store.turns("c")[0].turn
    assert stored.answer is not None
    start, end = stored.answer.start, stored.answer.start + 9  # the sentence's first word(s)
    with_span = replace(stored, answer=replace(stored.answer, span=(start, end)))
    store.append("s", with_span)
    [turn] = resolve_turns(store.turns("s"), corpus)
    article = corpus.get_article(stored.citations[stored.answer.rank - 1].article_id)
    assert turn.span == article.text[start:end] and turn.sentence is not None
    assert turn.span in turn.sentence
    corpus.delete_article(article.id)
    [gone] = resolve_turns(store.turns("s"), corpus)
    assert gone.span is None and gone.answer_removed
