"""The exact answer inside the answer sentence: the entity of the kind the question wants, or
the words an acronym stands for."""

from __future__ import annotations

import re
from collections.abc import Sequence

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
    if kind is None:
        return None
    if kind is EXPANSION:
        return _expansion(question, sentence)
    asked = question.lower()
    question_words = {w.lower() for w in _WORD.findall(question)}
    anchors = [
        sentence.start + m.start()
        for m in _WORD.finditer(sentence.text)
        if m.group().lower() in question_words and len(m.group()) > 2
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
        # The likeliest label first, then the mention nearest the question's own words.
        distance = min((abs(entity.start - a) for a in anchors), default=0)
        key = (kind.labels.index(entity.label), distance)
        if best is None or key < best[:2]:
            best = (key[0], key[1], entity)
    if best is None:
        return None
    entity = best[2]
    return Span(entity.start, entity.end, _slice(sentence, entity.start, entity.end))


def _named_in(mention: str, question_words: set[str]) -> bool:
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


def _initials(words: Sequence[str]) -> str:
    return "".join(part[0] for w in words for part in re.split(r"[-/]", w) if part).upper()


def _expansion(question: str, sentence: Span) -> Span | None:
    """"China-Pakistan Economic Corridor (CPEC)" or "CPEC (China-Pakistan Economic
    Corridor)": the words whose initials spell the acronym, beside it in brackets."""
    acronym = acronym_of(question)
    if not acronym:
        return None
    letters = re.sub(r"[^A-Za-z]", "", acronym).upper()
    body = sentence.text
    for match in re.finditer(rf"\(\s*{re.escape(acronym)}\s*\)", body):
        before = list(re.finditer(r"[\w'’&/-]+", body[: match.start()]))
        # Fewest words before the bracket whose initials spell it; small words ("of", "and")
        # may sit between.
        for n in range(1, min(len(before), 2 * len(letters) + 2) + 1):
            words = before[-n:]
            significant = [w.group() for w in words if not w.group().islower() or len(words) == 1]
            if _initials(significant) == letters and words[0].group()[0].isupper():
                start, end = sentence.start + words[0].start(), sentence.start + words[-1].end()
                return Span(start, end, _slice(sentence, start, end))
    for match in re.finditer(rf"\b{re.escape(acronym)}\s*\(([^()]+)\)", body):
        inner = match.group(1)
        capitalised = [w for w in re.findall(r"[\w'’&/-]+", inner) if not w.islower()]
        if _initials(capitalised) == letters:
            start = sentence.start + match.start(1)
            end = sentence.start + match.end(1)
            return Span(start, end, _slice(sentence, start, end))
    return None
