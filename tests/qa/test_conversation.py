"""Conversation storage, follow-up resolution and feedback export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from index.lexical import LexicalIndex
from qa.conversation import (
    ConversationError,
    ConversationStore,
    Turn,
    feedback_cases,
    resolve_followup,
)

LEXICAL = LexicalIndex.of_texts(
    ["Ambassador Jiang Zaidong criticised the minister.", "The corridor projects need guards."]
)


def turn(question: str, resolved: str | None = None, answer: str | None = "It is so. [1]") -> Turn:
    return Turn(question, resolved or question, answer is not None, answer, [])


def test_specific_questions_stand_alone() -> None:
    history = [turn("Who is the ambassador?")]
    assert resolve_followup("What did Zaidong criticise?", history, LEXICAL, 1.0) == (
        "What did Zaidong criticise?"
    )


def test_vague_follow_ups_are_read_after_the_previous_turn() -> None:
    history = [turn("Who is the ambassador?", "Who is Jiang Zaidong?")]
    assert resolve_followup("What did he say?", history, LEXICAL, 1.0) == (
        "Who is Jiang Zaidong? What did he say?"
    )
    assert resolve_followup("What did he say?", [], LEXICAL, 1.0) == "What did he say?"
    long_history = [turn("q", "x" * 1000)]
    assert len(resolve_followup("Why?", long_history, LEXICAL, 1.0)) == 400 + len(" Why?")


def test_store_appends_rates_and_reopens(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite")
    assert store.append("c1", turn("First?")) == 0
    assert store.append("c1", turn("Second?", answer=None)) == 1
    assert store.append("c2", turn("Other?")) == 0
    store.rate("c1", 1, "down")
    with pytest.raises(ConversationError, match="has no turn 7"):
        store.rate("c1", 7, "up")
    store.close()
    again = ConversationStore(tmp_path / "c.sqlite")
    turns = again.turns("c1")
    assert [t.question for t in turns] == ["First?", "Second?"]
    assert [t.feedback for t in turns] == [None, "down"]
    assert again.turns("missing") == []
    again.close()


def test_feedback_export_in_gold_format(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = ConversationStore(data_dir / "conversations.sqlite")
    store.append("c1", turn("Who spoke?", answer="Jiang Zaidong spoke. [2]"))
    store.append("c1", turn("What did he say?", "Who spoke? What did he say?", "He said no. [1]"))
    store.append("c2", turn("Who won the cup?", answer=None))
    store.append("c2", turn("Unrated?"))
    store.rate("c1", 0, "up")
    store.rate("c1", 1, "down")
    store.rate("c2", 0, "up")
    cases = feedback_cases(store)
    store.close()
    assert cases == [
        {
            "id": "fb-c1-0",
            "question": "Who spoke?",
            "answerable": True,
            "answers": ["Jiang Zaidong spoke."],
        },
        {
            "id": "fb-c1-1",
            "question": "Who spoke? What did he say?",
            "answerable": True,
            "answers": [],
            "needs_review": True,
            "rejected": ["He said no."],
        },
        {"id": "fb-c2-0", "question": "Who won the cup?", "answerable": False, "answers": []},
    ]
    out = tmp_path / "fb.jsonl"
    result = CliRunner().invoke(
        cli, ["feedback", "export", "--data-dir", str(data_dir), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in out.read_text().splitlines()] == cases
    empty = CliRunner().invoke(cli, ["feedback", "export", "--data-dir", str(tmp_path / "none")])
    assert empty.exit_code == 1 and "no conversations in" in empty.output
