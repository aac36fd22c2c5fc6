"""Split an article's text into sentences and paragraph-aware passages, keeping exact offsets."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from index.models import Article, Passage, Span

# A sentence ends at . ! or ? (plus closing quotes/brackets) followed by space and a capital,
# digit or opening quote. Regular expressions rather than a trained splitter: offsets come for free,
# it needs no model data, and it splits thousands of abstracts per second. A match starts only at
# the first mark of a run and its quantifiers are possessive: a run of marks is read once, not once
# from every mark in it, so chunking time stays linear in the text's length.
_BOUNDARY = re.compile(r"(?<![.!?])[.!?]++[\"'”’)\]]*+(?=\s++[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    (
        "mr mrs ms dr prof st jr sr gen col lt sgt capt gov sen rep rev fig figs no vs etc al eg "
        "ie inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec approx ca cf"
    ).split()
)
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
# Each sentence of a passage gets a vector of its own at ingest, and the writer waits for the
# model: 50,000 one-word sentences (200,000 characters) were 50,000 model calls. Prose holds a
# handful per passage (800 characters at 50 a sentence: 16). A passage of more is given to the
# model as one sentence, itself: merging runs of tiny ones would not do, since the model's work
# follows the tokens, which merging keeps (and the model reads at most 256 of one text).
MAX_SENTENCES = 16


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation or an initial, not a sentence."""
    if text[dot] != ".":
        return False
    # The token is the run of ASCII letters and periods before the dot, from its first letter.
    # Walking back from the dot reads only that run (a sentence end is followed by whitespace,
    # so runs of different ends never overlap), where a search of text[:dot] read the whole
    # prefix for every sentence end.
    start = dot
    while start > 0 and text[start - 1] in _TOKEN_CHARS:
        start -= 1
    while start < dot and text[start] == ".":
        start += 1
    if start == dot:
        return False
    token = text[start:dot]
    if len(token) == 1 and token.isupper():  # an initial: "J. Smith"
        return True
    if "." in token:  # "U.S." / "e.g."
        return True
    return token.lower() in _ABBREVIATIONS


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Return the sentences of ``text[start:end]`` as spans whose offsets index ``text``."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        if _is_abbreviation(text, match.start()):
            continue
        spans.extend(_trimmed(text, cursor, match.end()))
        cursor = match.end()
    spans.extend(_trimmed(text, cursor, end))
    return spans


def _trimmed(text: str, start: int, end: int) -> Iterator[Span]:
    """Yield the span with surrounding whitespace removed (nothing if it is blank)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield Span(start, end, text[start:end])


def _within(text: str, span: Span, limit: int) -> Iterator[Span]:
    """Yield ``span`` cut into pieces of at most ``limit`` characters: after the last whitespace
    that keeps a piece within the limit, or at the limit itself in text without whitespace (CJK,
    a long token), moved back so that no piece starts with a combining mark."""
    start, end = span.start, span.end
    if end - start <= limit:
        yield span
        return
    while end - start > limit:
        cut = start + limit  # text[cut] is the first character left out
        while cut > start and not text[cut].isspace():
            cut -= 1
        if cut == start:  # no whitespace: cut hard, but not between a letter and its accent
            cut = start + limit
            while cut > start + 1 and unicodedata.combining(text[cut]):
                cut -= 1
        yield from _trimmed(text, start, cut)
        start = cut
        while text[start].isspace():  # the span ends with a non-space, so this stops
            start += 1
    yield from _trimmed(text, start, end)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of each paragraph: blank-line separated, or lines if none are."""
    breaks = _PARAGRAPH_BREAK if _PARAGRAPH_BREAK.search(text) else re.compile(r"\n\s*")
    spans: list[tuple[int, int]] = []
    cursor = 0
    for match in breaks.finditer(text):
        spans.extend((s.start, s.end) for s in _trimmed(text, cursor, match.start()))
        cursor = match.end()
    spans.extend((s.start, s.end) for s in _trimmed(text, cursor, len(text)))
    return spans


def _at_most(text: str, sentences: list[Span], limit: int) -> tuple[Span, ...]:
    """The sentences, or when there are more than ``limit`` of them, one span covering them."""
    if len(sentences) <= limit:
        return tuple(sentences)
    start, end = sentences[0].start, sentences[-1].end
    return (Span(start, end, text[start:end]),)


def chunk_article(article: Article, max_chars: int = 800, min_chars: int = 120) -> list[Passage]:
    """Cut an article into passages of whole sentences, one paragraph where it fits.

    A paragraph longer than ``max_chars`` is packed greedily into runs of sentences; a unit
    shorter than ``min_chars`` is merged with the next one when the two still fit. A sentence
    longer than ``max_chars`` (or text with no sentence ends at all) is cut at whitespace, or
    hard where there is none, so no passage is longer than ``max_chars``. A passage holds at
    most ``MAX_SENTENCES`` sentences; one of more is one sentence.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if min_chars > max_chars:
        raise ValueError(f"min_chars ({min_chars}) must not exceed max_chars ({max_chars})")
    text = article.text
    units: list[list[Span]] = []  # each unit: the sentences it holds
    for p_start, p_end in paragraph_spans(text):
        sentences = [
            piece
            for sentence in split_sentences(text, p_start, p_end)
            for piece in _within(text, sentence, max_chars)
        ]
        run: list[Span] = []
        for sentence in sentences:
            if run and sentence.end - run[0].start > max_chars:
                units.append(run)
                run = []
            run.append(sentence)
        if run:
            units.append(run)
    merged: list[list[Span]] = []
    for unit in units:
        if merged:
            last = merged[-1]
            short = (last[-1].end - last[0].start) < min_chars or (
                unit[-1].end - unit[0].start
            ) < min_chars
            if short and unit[-1].end - last[0].start <= max_chars:
                last.extend(unit)
                continue
        merged.append(list(unit))
    return [
        Passage(
            id=f"{article.id}:{i}",
            article_id=article.id,
            ordinal=i,
            start=unit[0].start,
            end=unit[-1].end,
            text=text[unit[0].start : unit[-1].end],
            sentences=_at_most(text, unit, MAX_SENTENCES),
        )
        for i, unit in enumerate(merged)
    ]
