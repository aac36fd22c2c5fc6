"""Conversation storage: turns appended, rated and read back from a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.conversation.store import ConversationError, ConversationStore, Turn


def turn(question: str, resolved: str | None = None, answer: str | None = "It is so. [1]") -> Turn:
    return Turn(question, resolved or question, answer is not None, answer, [])


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
