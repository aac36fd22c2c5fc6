"""A chat turn read from a transcript, and its reply as Markdown, on the five-article corpus."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from index.corpus import Corpus
from qa.answer import Answerer
from qa.catalogue import article_page
from qa.chat import REFUSAL, ChatMessage, chat_reply, chat_turn, split_transcript
from qa.conversation.store import ConversationStore
from qa.conversation.turn import ask_in_conversation
from qa.errors import QuestionError
from qa.models import Filters
from qa.refusal import RefusalModel
from qa.retrieve import Retriever
from tests.fakes import FakeEmbedder

SPECIFIC = 100.0  # every question below this summed IDF is read after the one before


@pytest.fixture
def answerer(corpus: Corpus, embedder: FakeEmbedder) -> Answerer:
    refusal = RefusalModel(weights=(10.0, 0.0, 0.0, 0.0), bias=-3.0, threshold=0.5)
    return Answerer(corpus, Retriever(embedder), refusal=refusal)


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / "conversations.sqlite")


def user(text: str) -> ChatMessage:
    return ChatMessage("user", text)


def test_the_last_user_message_is_the_question() -> None:
    messages = [
        ChatMessage("system", "Be brief."),
        user(" first "),
        ChatMessage("assistant", "an answer"),
        user(" second "),
        ChatMessage("assistant", "a prefilled start"),
    ]
    assert split_transcript(messages) == ("second", ["first"])
    with pytest.raises(QuestionError):
        split_transcript([ChatMessage("system", "hello")])
    with pytest.raises(QuestionError):
        split_transcript([user("a question"), user("  ")])


def test_a_transcript_reads_a_follow_up_as_a_stored_conversation_does(
    answerer: Answerer, store: ConversationStore
) -> None:
    questions = ["Who evacuated residents before the volcano eruption?", "when?", "and why?"]
    conversation_id = None
    for i, question in enumerate(questions):
        stored = ask_in_conversation(
            answerer,
            store,
            question,
            conversation_id=conversation_id,
            followup_specificity=SPECIFIC,
        )
        conversation_id = stored.conversation_id
        transcript = chat_turn(
            answerer, store, [user(q) for q in questions[: i + 1]], followup_specificity=SPECIFIC
        )
        assert transcript.resolved == stored.resolved
        assert transcript.answer == stored.answer
        assert transcript.conversation_id is None  # nothing stored
    assert transcript.resolved.startswith("Who evacuated")
    assert transcript.resolved.endswith("when? and why?")
    assert len(store.turns(conversation_id or "")) == len(questions)


def test_a_conversation_id_asks_in_the_stored_conversation(
    answerer: Answerer, store: ConversationStore
) -> None:
    first = ask_in_conversation(
        answerer, store, "volcano eruption residents", followup_specificity=SPECIFIC
    )
    turn = chat_turn(
        answerer,
        store,
        [user("something else entirely"), user("when?")],
        conversation_id=first.conversation_id,
        followup_specificity=SPECIFIC,
    )
    assert (turn.conversation_id, turn.index) == (first.conversation_id, 1)
    assert turn.resolved == "volcano eruption residents when?"


def test_a_reply_quotes_the_answer_and_lists_numbered_sources(answerer: Answerer) -> None:
    answer = answerer.ask("Who evacuated residents before the volcano eruption?", top_k=2)
    reply = chat_reply(answer)
    assert reply.answer == answer.text
    assert reply.sources.startswith("\n\n**Sources**\n\n1. **Volcano erupts in Iceland**")
    assert "· Nordic Times" in reply.sources
    highlight = answer.citations[0].highlight
    assert highlight is not None
    assert f"\n   > {highlight.text}" in reply.sources
    assert "\n2. " in reply.sources
    assert "".join(reply.pieces()) == reply.text
    assert len(reply.pieces()) > 5


def test_a_refusal_lists_related_reading(answerer: Answerer) -> None:
    reply = chat_reply(answerer.ask("quantum chromodynamics gluon", top_k=2))
    assert reply.answer == REFUSAL
    assert reply.sources.startswith("\n\n**Related reading**\n\n1. ")
    nothing = chat_reply(answerer.ask("volcano", filters=Filters(source="nobody")))
    assert nothing.text == REFUSAL


def test_sources_escape_markdown_and_link_only_web_addresses(answerer: Answerer) -> None:
    answer = answerer.ask("Who evacuated residents before the volcano eruption?", top_k=1)
    hit = answer.citations[0].hit

    def with_article(**fields: str) -> str:
        article = replace(hit.article, **fields)
        citation = replace(answer.citations[0], hit=replace(hit, article=article))
        return chat_reply(replace(answer, citations=(citation,))).sources

    linked = with_article(url="https://example.org/a b", title="A [b] *c*")
    assert "**A \\[b\\] \\*c\\***" in linked and "](" not in linked
    linked = with_article(url="https://example.org/volcano")
    assert "1. [Volcano erupts in Iceland](<https://example.org/volcano>) · Nordic Times" in linked
    assert "](" not in with_article(url="javascript:alert(1)")


def test_article_pages_filter_as_search_does(corpus: Corpus) -> None:
    view = corpus.snapshot
    total, page = article_page(view, 0, 2)
    assert total == 5 and [a.id for a, _ in page] == ["bees", "bread"]
    total, page = article_page(view, 0, 10, Filters(source="nordic times"))
    assert (total, [a.id for a, _ in page]) == (1, ["volcano"])
    total, page = article_page(view, 0, 10, Filters(author="lee"))
    assert [a.id for a, _ in page] == ["volcano"]
    total, page = article_page(view, 0, 10, Filters(published_from="2020-01-01"))
    assert (total, page) == (0, [])  # undated articles fail a date bound
