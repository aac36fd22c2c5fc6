"""What kind of answer a question wants: a person, a date, a place, a number, an expansion.

Question words and the noun after "which"/"what" decide it, as in the answer-type classifiers
of pre-neural question answering (Li and Roth's coarse classes). Each type names the entity
labels (OntoNotes, as spaCy's English pipelines tag them) that can answer it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerType:
    """A kind of answer and the entity labels that carry it, the likeliest first."""

    name: str
    labels: tuple[str, ...]


PERSON = AnswerType("person", ("PERSON", "ORG"))
ORGANISATION = AnswerType("organisation", ("ORG", "NORP"))
DATE = AnswerType("date", ("DATE", "TIME"))
PLACE = AnswerType("place", ("GPE", "LOC", "FAC"))
NUMBER = AnswerType("number", ("CARDINAL", "QUANTITY", "MONEY", "PERCENT"))
AMOUNT = AnswerType("amount", ("MONEY", "CARDINAL", "QUANTITY"))
PERCENT = AnswerType("percent", ("PERCENT", "CARDINAL"))
DURATION = AnswerType("duration", ("DATE", "TIME", "CARDINAL", "QUANTITY"))
FREQUENCY = AnswerType("frequency", ("DATE", "TIME", "CARDINAL"))
LANGUAGE = AnswerType("language", ("LANGUAGE", "NORP"))
NATIONALITY = AnswerType("nationality", ("NORP", "GPE"))
EVENT = AnswerType("event", ("EVENT",))
WORK = AnswerType("work", ("WORK_OF_ART", "PRODUCT", "LAW"))
ORDINAL = AnswerType("ordinal", ("ORDINAL",))
# Not an entity: the words a parenthesised acronym stands for ("China-Pakistan Economic
# Corridor (CPEC)"), found by qa.span.
EXPANSION = AnswerType("expansion", ())

TYPES = (
    PERSON,
    ORGANISATION,
    DATE,
    PLACE,
    NUMBER,
    AMOUNT,
    PERCENT,
    DURATION,
    FREQUENCY,
    LANGUAGE,
    NATIONALITY,
    EVENT,
    WORK,
    ORDINAL,
    EXPANSION,
)

# The head noun after "which"/"what" names the kind of thing asked for.
_NOUNS: dict[str, AnswerType] = {}
for _type, _words in (
    (
        PERSON,
        "person people man woman men women leader president minister ambassador official "
        "king queen emperor ruler author writer scientist player actor singer artist general "
        "commander founder chief head director spokesman spokeswoman spokesperson envoy "
        "secretary governor senator politician pope prince princess composer architect",
    ),
    (
        ORGANISATION,
        "company companies organisation organization group party parties agency firm "
        "university school team club band institution ministry department government "
        "newspaper network bank corporation union army militia movement council committee",
    ),
    (
        PLACE,
        "country countries city cities town state states province region place area "
        "continent island river mountain capital village district border location port",
    ),
    (DATE, "year years date day days month months century decade era period season time"),
    (LANGUAGE, "language languages"),
    (NATIONALITY, "nationality nationalities ethnicity"),
    (EVENT, "event war battle election summit"),
    (WORK, "book film movie song album law act treaty"),
):
    for _word in _words.split():
        _NOUNS[_word] = _type

_EXPANSION = re.compile(
    r"\bwhat\s+(?:does|did|do)\s+(?:the\s+)?(?:acronym\s+|abbreviation\s+)?[\w.&-]+\s+"
    r"(?:stand|stands)\s+for\b|\bwhat\s+is\s+[\w.&-]+\s+(?:short|an\s+abbreviation)\s+for\b",
    re.IGNORECASE,
)
_RULES: tuple[tuple[re.Pattern[str], AnswerType], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), answer_type)
    for pattern, answer_type in (
        (r"how\s+(?:often|frequently)\b", FREQUENCY),
        (r"how\s+long\b", DURATION),
        (r"how\s+much\s+(?:money|did|does|do|is|was|were|are)\b", AMOUNT),
        (r"(?:what|which)\s+(?:percentage|percent|proportion|share)\b", PERCENT),
        (r"how\s+(?:many|much)\b", NUMBER),
        (r"how\s+(?:old|far|big|large|tall|high|deep|wide|fast)\b", NUMBER),
        (r"(?:what|which)\s+(?:number|amount)\b", NUMBER),
        (r"when\b|what\s+time\b", DATE),
        (r"where\b", PLACE),
        (r"who(?:m|se)?\b", PERSON),
    )
)
# The question's own wh-word: the first one, so that "What is Beijing doubtful about when it
# looks at Pakistan?" is a "what" question, not a "when" one.
_WH = re.compile(r"\b(?:who|whom|whose|when|where|which|what|how)\b", re.IGNORECASE)
# After "what"/"which", a verb ends the search for the noun naming the kind: in "What did the
# ambassador say", "ambassador" is not the answer's kind.
_VERBS = frozenset(
    "is are was were be been do does did has have had will would can could should may might "
    "must shall".split()
)


def answer_type(question: str) -> AnswerType | None:
    """The kind of answer ``question`` wants, or None when its words do not say."""
    if _EXPANSION.search(question):
        return EXPANSION
    wh = _WH.search(question)
    if wh is None:
        return None
    rest = question[wh.start() :]
    for pattern, kind in _RULES:
        if pattern.match(rest):
            return kind
    if wh.group().lower() in ("which", "what"):
        # "Which Chinese company ...", "What year ...": the first known noun within three
        # words, before any verb.
        for word in rest.split()[1:4]:
            word = word.lower().strip("?,.'\"’")
            if word in _VERBS:
                break
            noun = _NOUNS.get(word.removesuffix("'s"))
            if noun is not None:
                return noun
    return None
