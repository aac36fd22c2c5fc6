"""Follow-up questions read after the turn before, on the five-article corpus's BM25 index."""

from __future__ import annotations

from index.corpus import Corpus
from qa.conversation.followup import resolve_followup


def test_specific_questions_stand_alone(corpus: Corpus) -> None:
    lexical = corpus.snapshot.lexical
    question = "Who evacuated the residents of Grindavik?"
    assert resolve_followup(question, "Where did the volcano erupt?", lexical, 1.0) == question


def test_vague_follow_ups_are_read_after_the_previous_turn(corpus: Corpus) -> None:
    lexical = corpus.snapshot.lexical
    assert resolve_followup("What did he say?", "Where did the volcano erupt?", lexical, 1.0) == (
        "Where did the volcano erupt? What did he say?"
    )
    assert resolve_followup("What did he say?", None, lexical, 1.0) == "What did he say?"
    assert len(resolve_followup("Why?", "x" * 1000, lexical, 1.0)) == 400 + len(" Why?")
