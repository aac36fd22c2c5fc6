"""Rated turns exported as evaluation cases, by function and by ``qa feedback export``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from api.cli import cli
from qa.conversation.feedback import feedback_cases
from qa.conversation.store import ConversationStore, Turn


def turn(question: str, resolved: str | None = None, answer: str | None = "It is so. [1]") -> Turn:
    return Turn(question, resolved or question, answer is not None, answer, [])


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
