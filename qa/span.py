"""The exact answer inside the answer sentence: the entity of the kind the question wants, or
the words an acronym stands for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache

from index.acronyms import definitions, letters
from index.models import Entity, Span
from qa.answertype import EXPANSION, AnswerType

_WORD = re.compile(r"\w+")
_ACRONYM_IN_QUESTION = re.compile(
    r"\b(?:does|did|do|is)\s+(?:the\s+)?(?:acronym\s+|abbreviation\s+)?([\w.&-]+)\s+"
    r"(?:stand|stands|short|an\s+abbreviation)",
    re.IGNORECASE,
)


def answer_span(
    question: str, kind: AnswerType | None, sentence: Span, entities: Sequence[Entity]
) -> Span | None:
    """The answer to ``question`` inside ``sentence``, with offsets into the same text as the
    sentence's (the article), or None when the sentence holds nothing of the wanted ``kind``.
    ``entities`` are the tagged entities of the sentence's passage, offsets as the sentence's."""
    found = find_answer(question, kind, sentence, entities)
    return found[0] if found is not None else None


def find_answer(
    question: str, kind: AnswerType | None, sentence: Span, entities: Sequence[Entity]
) -> tuple[Span, int] | None:
    """``answer_span``'s answer with its distance in characters from the nearest of the
    question's cue words in the sentence (``FAR`` when none is there): how closely the
    sentence ties it to what was asked. An expansion is tied by construction (distance 0)."""
    if kind is None:
        return None
    if kind is EXPANSION:
        expansion = _expansion(question, sentence)
        return (expansion, 0) if expansion is not None else None
    asked, question_words, cue_prefixes = _read(question)
    anchors = [
        (sentence.start + m.start(), sentence.start + m.end())
        for m in _WORD.finditer(sentence.text)
        if len(m.group()) > 2 and m.group().lower()[:5] in cue_prefixes
    ]
    best: tuple[int, int, Entity] | None = None
    for entity in entities:
        if entity.start < sentence.start or entity.end > sentence.end:
            continue
        if entity.label not in kind.labels:
            continue
        mention = _slice(sentence, entity.start, entity.end)
        if mention.lower() in asked or _named_in(mention, question_words):
            continue  # the question already names it: it is not the answer
        # The likeliest label first, then the mention nearest the question's cue words.
        distance = min((max(a - entity.end, entity.start - b, 0) for a, b in anchors), default=FAR)
        key = (kind.labels.index(entity.label), distance)
        if best is None or key < best[:2]:
            best = (key[0], key[1], entity)
    if best is None:
        return None
    entity = best[2]
    return Span(entity.start, entity.end, _slice(sentence, entity.start, entity.end)), best[1]


FAR = 10_000
_WH_WORDS = frozenset("who whom whose when where which what how why".split())
_STOP = frozenset(
    "the and for are was were did does has have had that this with from into about been its "
    "their there they them his her him she not but can could would should will".split()
)


@lru_cache(maxsize=1024)
def _read(question: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """What ``find_answer`` needs of a question, worked out once for all the sentences it
    looks at: the question in lower case, its words, and its cue words' first five letters
    (a sentence word sharing them is an anchor)."""
    words = frozenset(w.lower() for w in _WORD.findall(question))
    return question.lower(), words, frozenset(c[:5] for c in _cue_words(question))


def _cue_words(question: str) -> set[str]:
    """The words that say what is asked about, "ambassador" in "Who is China's ambassador to
    Pakistan?": lower-case words of the question, neither question words nor the commonest;
    names are left out, since the answer is what stands beside the thing named."""
    words = _WORD.findall(question)
    cues = {
        w.lower()
        for i, w in enumerate(words)
        if len(w) > 2
        and (i == 0 or not w[0].isupper())
        and w.lower() not in _WH_WORDS
        and w.lower() not in _STOP
    }
    return cues or {w.lower() for w in words if len(w) > 2}


def _named_in(mention: str, question_words: AbstractSet[str]) -> bool:
    """Whether the question names the mention, wholly or in part, or in another form: "Ishaq
    Dar" when it says "Dar", "Chinese" when it says "China's" (a capitalised word of the
    mention shares its first five letters, or the whole of a shorter word, with a word of
    the question)."""
    words = [w.lower() for w in _WORD.findall(mention) if w[:1].isupper()]
    return any(
        w == q or (w[:5] == q[:5] and min(len(w), len(q)) >= 4)
        for w in words
        for q in question_words
    )


def _slice(sentence: Span, start: int, end: int) -> str:
    """The text at ``[start, end)`` (offsets of the article) inside ``sentence``."""
    return sentence.text[start - sentence.start : end - sentence.start]


def acronym_of(question: str) -> str | None:
    """The acronym a "what does X stand for" question asks about."""
    match = _ACRONYM_IN_QUESTION.search(question)
    return match.group(1).strip(".") if match else None


def _expansion(question: str, sentence: Span) -> Span | None:
    """The words the asked-about acronym stands for, where the sentence spells it out beside
    it ("China-Pakistan Economic Corridor (CPEC)" or "CPEC (China-Pakistan Economic
    Corridor)")."""
    acronym = acronym_of(question)
    if not acronym:
        return None
    wanted = letters(acronym)
    for found in definitions(sentence.text):
        if letters(found.acronym) == wanted:
            start, end = sentence.start + found.start, sentence.start + found.end
            return Span(start, end, _slice(sentence, start, end))
    return None
