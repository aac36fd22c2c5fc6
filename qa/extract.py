"""Pick the sentence that best answers the question among the top passages: by the answer model
(``AnswerPicker``) or, without it, by similarity and rules (``SentencePicker``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.models import Span, published_day
from index.view import CorpusView
from qa.answertype import EXPANSION, answer_type
from qa.models import Hit
from qa.reader import AnswerModel
from qa.retrieve import Query
from qa.span import find_answer


@dataclass(frozen=True)
class Pick:
    """The answer sentence: which hit it is in, the sentence, and the exact answer inside it
    when the question wants a kind of answer the sentence holds."""

    index: int
    sentence: Span
    span: Span | None
    # The answer model's logit for the sentence (> 0: it answers), None without the model.
    score: float | None = None


class Picker(Protocol):
    """Picks the answer sentence among hits; ``scores`` says whether picks carry a score."""

    scores: bool

    def pick(
        self, snapshot: CorpusView, query: Query, hits: Sequence[Hit], question: str | None = None
    ) -> Pick | None: ...


class SentencePicker:
    """Picks the sentence that best answers among the first ``passages`` hits.

    A sentence scores its cosine to the question (from the sentence vectors stored at ingest, so
    no model call), plus ``overlap_weight`` times the share of the question's words it holds,
    each word weighted by its IDF in the corpus, so rare words count and common ones barely do,
    plus ``type_weight`` when it holds an answer of the kind the question wants (a person for
    "who", a date for "when"...: ``qa.answertype``), found among the entities tagged at ingest,
    within ``type_distance`` characters of the words saying what is asked about (``qa.span``).

    With ``recency_margin``, of the sentences scoring within that margin of the best, the one
    from the most recently published article is picked (undated counts as oldest), so that
    an update's sentence wins over its earlier version's near-copy.
    """

    scores = False

    def __init__(
        self,
        passages: int = 3,
        overlap_weight: float = 0.4,
        type_weight: float = 0.15,
        type_distance: int = 30,
        recency_margin: float = 0.0,
    ) -> None:
        if passages < 1:
            raise ValueError(f"passages must be at least 1, got {passages}")
        if overlap_weight < 0:
            raise ValueError(f"overlap_weight must not be negative, got {overlap_weight}")
        if type_weight < 0:
            raise ValueError(f"type_weight must not be negative, got {type_weight}")
        if type_distance < 0:
            raise ValueError(f"type_distance must not be negative, got {type_distance}")
        if recency_margin < 0:
            raise ValueError(f"recency_margin must not be negative, got {recency_margin}")
        self.passages = passages
        self.overlap_weight = overlap_weight
        self.type_weight = type_weight
        self.type_distance = type_distance
        self.recency_margin = recency_margin

    def pick(
        self, snapshot: CorpusView, query: Query, hits: Sequence[Hit], question: str | None = None
    ) -> Pick | None:
        """The best sentence among the hits, or None without hits. ``question`` is what the
        person asked (the answer type is read from it; default: the query's text)."""
        scored = self.scored(snapshot, query, hits, question)
        if not scored:
            return None
        return _best(scored, hits, self.recency_margin)

    def scored(
        self, snapshot: CorpusView, query: Query, hits: Sequence[Hit], question: str | None = None
    ) -> list[tuple[float, Pick]]:
        """Every sentence of the first ``passages`` hits with its score, in hit order."""
        asked = question if question is not None else query.text
        kind = answer_type(asked)
        idf = {t: snapshot.lexical.idf(t) for t in set(query.terms)}
        total = sum(idf.values())
        vector = np.asarray(query.vector, dtype=np.float32)
        scored: list[tuple[float, Pick]] = []
        for i, hit in enumerate(hits[: self.passages]):
            cosines = snapshot.sentence_vectors(hit.position) @ vector
            terms = snapshot.sentence_terms(hit.position)
            for sentence, cosine, words in zip(hit.passage.sentences, cosines, terms, strict=True):
                shared = idf.keys() & words
                overlap = sum(idf[t] for t in shared) / total if total else 0.0
                found = find_answer(asked, kind, sentence, hit.passage.entities)
                span = found[0] if found is not None else None
                score = float(cosine) + self.overlap_weight * overlap
                if found is not None and found[1] <= self.type_distance:
                    score += self.type_weight
                scored.append((score, Pick(i, sentence, span)))
        return scored


def _best(scored: list[tuple[float, Pick]], hits: Sequence[Hit], recency_margin: float) -> Pick:
    """The best-scored pick (the first of equals); with ``recency_margin``, of the picks within
    that margin of the best, the best from the most recently published article."""
    best = max(scored, key=lambda item: item[0])
    if recency_margin:
        near = [item for item in scored if item[0] >= best[0] - recency_margin]
        days = [published_day(hits[item[1].index].article.published) for item in near]
        if len(set(d for d in days if d == d)) > 1:  # NaN != NaN: undated
            newest = max(d for d in days if d == d)
            best = max(
                (item for item, d in zip(near, days, strict=True) if d == newest),
                key=lambda item: item[0],
            )
    return best[1]


class AnswerPicker:
    """Picks the answer sentence with the answer model (``qa.reader``): of the sentences of the
    first ``passages`` hits, the ``sentences`` that score best by similarity (``SentencePicker``:
    cosine, shared rare words, the kind of answer asked for; free, from what ingest stored) are
    read together with the question, and the one the model scores highest is the answer, with
    the span the model reads in it as ``answer_span``. The model's cost is per sentence read,
    so ``sentences`` bounds it whatever the passages hold.

    "What does X stand for?" keeps the acronym rules (``qa.span``): an expansion the article
    spells out is found exactly, where a learned span may stop short. ``recency_margin`` works
    as in ``SentencePicker``, on the model's logits.
    """

    # Its picks carry the model's score, which the refusal model reads as a feature.
    scores = True

    def __init__(
        self,
        model: AnswerModel,
        passages: int = 4,
        sentences: int = 8,
        recency_margin: float = 0.0,
    ) -> None:
        if sentences < 1:
            raise ValueError(f"sentences must be at least 1, got {sentences}")
        if recency_margin < 0:
            raise ValueError(f"recency_margin must not be negative, got {recency_margin}")
        self.model = model
        self.similarity = SentencePicker(passages=passages)  # checks ``passages``
        self.sentences = sentences
        self.recency_margin = recency_margin

    def pick(
        self, snapshot: CorpusView, query: Query, hits: Sequence[Hit], question: str | None = None
    ) -> Pick | None:
        """The best sentence among the hits, or None without hits. The model reads ``query``'s
        text (a follow-up already resolved); ``question`` is what the person asked."""
        asked = question if question is not None else query.text
        shortlist = sorted(
            self.similarity.scored(snapshot, query, hits, asked),
            key=lambda item: -item[0],
        )[: self.sentences]
        # In reading order, so that of equal scores the earlier passage's sentence wins.
        candidates = sorted(
            ((p.index, p.sentence) for _, p in shortlist), key=lambda c: (c[0], c[1].start)
        )
        if not candidates:
            return None
        judged = self.model.judge(query.text, [s.text for _, s in candidates])
        expansion = answer_type(asked) is EXPANSION
        scored: list[tuple[float, Pick]] = []
        for (i, sentence), judgement in zip(candidates, judged, strict=True):
            span = (
                Span(
                    sentence.start + judgement.start,
                    sentence.start + judgement.end,
                    sentence.text[judgement.start : judgement.end],
                )
                if judgement.end > judgement.start
                else None
            )
            if expansion:
                found = find_answer(asked, EXPANSION, sentence, hits[i].passage.entities)
                span = found[0] if found is not None else None
            scored.append((judgement.selection, Pick(i, sentence, span, judgement.selection)))
        if expansion and any(p.span is not None for _, p in scored):
            # A sentence that spells the acronym out answers "what does it stand for".
            scored = [item for item in scored if item[1].span is not None]
        return _best(scored, hits, self.recency_margin)
