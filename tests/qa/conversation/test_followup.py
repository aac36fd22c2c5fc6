"""Follow-up questions read after the turn before, on the five-article corpus's BM25 index."""

from __future__ import annotations

from index.corpus import Corpus
from index.lexical import LexicalIndex
from index.text import content_terms
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


def test_function_words_do_not_make_a_follow_up_look_specific() -> None:
    # In a small corpus "he" and "about" are rare, so their IDF is high; they still name nothing.
    lexical = LexicalIndex.of_texts(
        [
            "He said the attacks were unacceptable.",
            "The attacks on engineers went on for years.",
            "Officials spoke about the corridor.",
            "Rain fell on the harbour.",
        ]
    )
    assert lexical.idf("he") > 1.0 and lexical.idf("about") > 1.0
    question = "What did he say about the attacks?"
    previous = "Who is the Chinese ambassador?"
    assert resolve_followup(question, previous, lexical, 2.0) == f"{previous} {question}"
    assert content_terms(question) == ["say", "attack"]
