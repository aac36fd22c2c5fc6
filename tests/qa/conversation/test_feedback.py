"""Rated turns exported as evaluation cases, by function and by ``qa feedback export``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from evaluation.datasets import load_gold
from index.corpus import Corpus
from qa.answer import Answerer
from qa.conversation.feedback import feedback_cases
from qa.conversation.store import ConversationStore
from qa.conversation.turn import ConversationTurn, ask_in_conversation
from qa.refusal import RefusalModel
from qa.retrieve import Retriever
from tests.conftest import SEED
from tests.fakes import FakeEmbedder


def sentence(turn: ConversationTurn) -> str:
    """The answer sentence of a live turn, without its citation marker."""
    return next(c.highlight.text for c in turn.answer.citations if c.highlight is not None)


def test_feedback_export_in_gold_format(
    tmp_path: Path, corpus: Corpus, embedder: FakeEmbedder
) -> None:
    store = ConversationStore(corpus.data_dir / "conversations.sqlite")
    # Answer when the best passage's cosine reaches 0.3.
    refusal = RefusalModel(weights=(10.0, 0.0, 0.0, 0.0), bias=-3.0, threshold=0.5)
    answerer = Answerer(corpus, Retriever(embedder), refusal=refusal)

    def ask(question: str, conversation_id: str) -> ConversationTurn:
        return ask_in_conversation(
            answerer, store, question, conversation_id=conversation_id, followup_specificity=0.0
        )

    volcano = ask("Who evacuated residents before the volcano eruption?", "c1")
    chess = ask("How did the world chess final end?", "c1")
    refused = ask("quantum chromodynamics gluon", "c2")
    ask("Unrated: how does sourdough rise?", "c2")
    bread = ask("Why does sourdough bread rise?", "c3")
    assert refused.answer.answered is False
    store.rate("c1", 0, "up")
    store.rate("c1", 1, "down")
    store.rate("c2", 0, "up")
    store.rate("c3", 0, "up")
    corpus.delete_article("bread")

    cases = feedback_cases(store, corpus)
    store.close()
    assert cases == [
        {
            "id": "fb-c1-0",
            "question": volcano.resolved,
            "answerable": True,
            "answers": [sentence(volcano)],
        },
        {
            "id": "fb-c1-1",
            "question": chess.resolved,
            "answerable": True,
            "answers": [],
            "needs_review": True,
            "rejected": [sentence(chess)],
        },
        {"id": "fb-c2-0", "question": refused.resolved, "answerable": False, "answers": []},
        # Quoted from a deleted article: no words of it, and left out of evaluations.
        {
            "id": "fb-c3-0",
            "question": bread.resolved,
            "answerable": True,
            "answers": [],
            "needs_review": True,
            "removed": True,
        },
    ]

    out = tmp_path / "fb.jsonl"
    result = CliRunner().invoke(
        cli, ["feedback", "export", "--data-dir", str(corpus.data_dir), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in out.read_text().splitlines()] == cases
    assert "wild yeast" not in out.read_text()
    assert [q.id for q in load_gold(out, SEED).queries] == ["fb-c1-0", "fb-c2-0"]


def test_feedback_export_needs_conversations_and_the_corpus(tmp_path: Path) -> None:
    empty = CliRunner().invoke(cli, ["feedback", "export", "--data-dir", str(tmp_path / "none")])
    assert empty.exit_code == 1 and "no conversations in" in empty.output
    ConversationStore(tmp_path / "conversations.sqlite").close()
    no_index = CliRunner().invoke(cli, ["feedback", "export", "--data-dir", str(tmp_path)])
    assert no_index.exit_code == 1 and "no index in" in no_index.output
