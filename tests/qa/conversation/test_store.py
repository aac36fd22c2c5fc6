"""Conversation storage: turns appended, rated and read back from a real SQLite file."""

from __future__ import annotations

import threading
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


def test_the_last_turn_is_what_the_next_question_reads(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite")
    assert store.last_turn("c1") is None
    store.append("c1", turn("First?"))
    store.append("c1", turn("Second?", "First? Second?"))
    store.append("c2", turn("Other?"))
    last = store.last_turn("c1")
    assert last is not None and (last.index, last.resolved) == (1, "First? Second?")
    store.close()


def test_concurrent_appends_take_unique_consecutive_indices(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite")
    conversations = ["shared", "shared", "shared", "own-1", "own-2", "own-3"]
    per_thread = 25
    start = threading.Barrier(len(conversations))
    indices: dict[str, list[int]] = {c: [] for c in conversations}

    def writer(conversation_id: str, name: int) -> None:
        start.wait()
        for i in range(per_thread):
            index = store.append(conversation_id, turn(f"thread {name} question {i}?"))
            indices[conversation_id].append(index)  # list.append is atomic

    threads = [threading.Thread(target=writer, args=(c, n)) for n, c in enumerate(conversations)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(indices["shared"]) == list(range(3 * per_thread))
    for own in ("own-1", "own-2", "own-3"):
        assert indices[own] == list(range(per_thread))
    assert [t.question for t in store.turns("own-2")] == [
        f"thread 4 question {i}?" for i in range(per_thread)
    ]
    store.close()
