"""The kind of answer a question wants, read from its words."""

from __future__ import annotations

import pytest

from qa.answertype import (
    AMOUNT,
    DATE,
    DURATION,
    EXPANSION,
    FREQUENCY,
    NUMBER,
    ORGANISATION,
    PERCENT,
    PERSON,
    PLACE,
    AnswerType,
    answer_type,
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who is China's ambassador to Pakistan?", PERSON),
        ("Whom did the minister meet?", PERSON),
        ("Whose nationals were killed?", PERSON),
        ("When did the attack happen?", DATE),
        ("In what year was the corridor launched?", DATE),
        ("What date was the summit?", DATE),
        ("Where were the engineers killed?", PLACE),
        ("Which country funds the corridor?", PLACE),
        ("Which Chinese company was attacked?", ORGANISATION),
        ("What group claimed the attack?", ORGANISATION),
        ("How many Chinese nationals were killed?", NUMBER),
        ("How much money did China invest?", AMOUNT),
        ("What percentage of the vote did they win?", PERCENT),
        ("How often do the two armies hold exercises?", FREQUENCY),
        ("How long did the talks last?", DURATION),
        ("What does CPEC stand for?", EXPANSION),
        ("What is BLA short for?", EXPANSION),
    ],
)
def test_question_words_name_the_answer_type(question: str, expected: AnswerType) -> None:
    assert answer_type(question) is expected


@pytest.mark.parametrize(
    "question",
    [
        "What did the Financial Times report about Chinese companies?",
        "Why is China worried?",
        # The question's own wh-word counts, not one in a later clause ...
        "What is Beijing doubtful about when it looks at Pakistan?",
        # ... and a noun after a verb is not the answer's kind.
        "What did the ambassador name as Beijing's top worry?",
    ],
)
def test_questions_that_do_not_say_have_no_type(question: str) -> None:
    assert answer_type(question) is None
