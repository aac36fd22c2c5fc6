"""The exact answer inside an answer sentence."""

from __future__ import annotations

from index.models import Entity, Span
from qa.answertype import answer_type
from qa.span import acronym_of, answer_span

TEXT = (
    "Intro. China's ambassador to Pakistan, Jiang Zaidong, said on Monday that attacks on "
    "Chinese nationals in Pakistan were unacceptable. Work on the China-Pakistan Economic "
    "Corridor (CPEC) slowed after 2022."
)


def sentence(fragment: str) -> Span:
    start = TEXT.index(fragment)
    return Span(start, start + len(fragment), fragment)


def entity(mention: str, label: str) -> Entity:
    start = TEXT.index(mention)
    return Entity(start, start + len(mention), label)


FIRST = sentence(TEXT[TEXT.index("China's") : TEXT.index("unacceptable.") + len("unacceptable.")])
SECOND = sentence(TEXT[TEXT.index("Work") :])
ENTITIES = [
    entity("China", "GPE"),
    entity("Pakistan", "GPE"),
    entity("Jiang Zaidong", "PERSON"),
    entity("Monday", "DATE"),
    entity("Chinese", "NORP"),
    entity("2022", "DATE"),
]


def span_for(question: str, where: Span) -> Span | None:
    return answer_span(question, answer_type(question), where, ENTITIES)


def test_who_is_answered_with_the_person_the_question_does_not_name() -> None:
    span = span_for("Who is China's ambassador to Pakistan?", FIRST)
    assert span is not None
    assert span.text == "Jiang Zaidong" == TEXT[span.start : span.end]


def test_when_is_answered_with_a_date_inside_the_sentence() -> None:
    span = span_for("When did the ambassador speak about the attacks?", FIRST)
    assert span is not None and span.text == "Monday"
    # 2022 is a date too, but not in this sentence.
    later = span_for("Since when has work on the corridor slowed?", SECOND)
    assert later is not None and later.text == "2022"


def test_a_sentence_without_the_wanted_kind_gives_no_span() -> None:
    assert span_for("How many engineers were killed?", FIRST) is None
    assert span_for("Why did work slow?", SECOND) is None  # no answer type


def test_an_acronym_is_answered_with_its_expansion() -> None:
    assert acronym_of("What does CPEC stand for?") == "CPEC"
    span = span_for("What does CPEC stand for?", SECOND)
    assert span is not None
    assert span.text == "China-Pakistan Economic Corridor" == TEXT[span.start : span.end]
    assert span_for("What does BLA stand for?", SECOND) is None


def test_an_expansion_in_brackets_after_the_acronym() -> None:
    text = "The BLA (Balochistan Liberation Army) claimed it."
    span = answer_span(
        "What does BLA stand for?",
        answer_type("What does BLA stand for?"),
        Span(0, len(text), text),
        [],
    )
    assert span is not None and span.text == "Balochistan Liberation Army"


def test_a_particle_inside_a_hyphenated_name_is_not_an_initial() -> None:
    text = "Groups such as the Tehreek-e-Taliban Pakistan (TTP) struck again."
    question = "What does TTP stand for?"
    span = answer_span(question, answer_type(question), Span(0, len(text), text), [])
    assert span is not None and span.text == "Tehreek-e-Taliban Pakistan"
