"""A conversation turn on the five-article corpus: context read, answer given, turn stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index.corpus import Corpus
from qa.answer import Answerer
from qa.conversation.models import LastTurn, StoredTurn
from qa.conversation.store import ConversationStore
from qa.conversation.turn import ask_in_conversation
from qa.errors import QuestionError
from qa.retrieve import Retriever
from tests.fakes import FakeEmbedder


class CountingStore(ConversationStore):
    """The real store, counting what a question reads of the conversation so far."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.last_turn_reads = 0
        self.history_reads = 0

    def last_turn(self, conversation_id: str) -> LastTurn | None:
        self.last_turn_reads += 1
        return super().last_turn(conversation_id)

    def turns(self, conversation_id: str) -> list[StoredTurn]:
        self.history_reads += 1
        return super().turns(conversation_id)


@pytest.fixture
def answerer(corpus: Corpus, embedder: FakeEmbedder) -> Answerer:
    return Answerer(corpus, Retriever(embedder))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    s = CountingStore(tmp_path / "conversations.sqlite")
    yield s
    s.close()


def test_a_new_conversation_starts_at_turn_zero(answerer: Answerer, store: CountingStore) -> None:
    turn = ask_in_conversation(
        answerer, store, "Who evacuated residents near the volcano?", followup_specificity=1.0
    )
    assert len(turn.conversation_id) == 32 and turn.index == 0
    assert turn.resolved == "Who evacuated residents near the volcano?"
    assert turn.answer.citations[0].hit.article.id == "volcano"
    [stored] = store.turns(turn.conversation_id)
    assert stored.turn.question == turn.answer.question


def test_a_follow_up_reads_only_the_last_turn(answerer: Answerer, store: CountingStore) -> None:
    for question in ("Where did the volcano erupt?", "Who evacuated residents from the town?"):
        ask_in_conversation(
            answerer, store, question, conversation_id="c", followup_specificity=1.0
        )
    store.last_turn_reads = store.history_reads = 0
    follow = ask_in_conversation(
        answerer, store, "Why?", conversation_id="c", followup_specificity=1.0
    )
    assert follow.index == 2
    assert follow.resolved == "Who evacuated residents from the town? Why?"
    assert (store.last_turn_reads, store.history_reads) == (1, 0)


def test_an_unusable_question_stores_nothing(answerer: Answerer, store: CountingStore) -> None:
    with pytest.raises(QuestionError):
        ask_in_conversation(answerer, store, "   ", conversation_id="c", followup_specificity=1.0)
    assert store.last_turn("c") is None
