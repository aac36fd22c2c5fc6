"""Follow-up questions read after the turn before."""

from __future__ import annotations

from index.lexical import LexicalIndex
from qa.conversation.followup import resolve_followup

LEXICAL = LexicalIndex(
    ["Ambassador Jiang Zaidong criticised the minister.", "The corridor projects need guards."]
)


def test_specific_questions_stand_alone() -> None:
    question = "What did Zaidong criticise?"
    assert resolve_followup(question, "Who is the ambassador?", LEXICAL, 1.0) == question


def test_vague_follow_ups_are_read_after_the_previous_turn() -> None:
    assert resolve_followup("What did he say?", "Who is Jiang Zaidong?", LEXICAL, 1.0) == (
        "Who is Jiang Zaidong? What did he say?"
    )
    assert resolve_followup("What did he say?", None, LEXICAL, 1.0) == "What did he say?"
    assert len(resolve_followup("Why?", "x" * 1000, LEXICAL, 1.0)) == 400 + len(" Why?")
