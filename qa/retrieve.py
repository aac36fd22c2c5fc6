"""Passage retrieval over a corpus snapshot: dense (FAISS), lexical (BM25), or both fused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from index.embed import Embedder, Vectors
from index.text import tokenize
from index.view import CorpusView
from qa.models import Filters, Hit

Method = Literal["dense", "bm25", "hybrid"]
# The recency prior's reference day is the newest among candidates scoring at least this share
# of the best one.
PRIOR_REACH = 0.8
METHODS: tuple[Method, ...] = ("dense", "bm25", "hybrid")


@dataclass(frozen=True)
class Query:
    """A question as the retriever uses it: its words and its vector."""

    text: str
    terms: tuple[str, ...]
    vector: Vectors


def _minmax(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.zeros_like(values)
    return (values - low) / (high - low)


class Retriever:
    """Ranks passages for a question.

    ``hybrid`` takes the ``candidates`` best passages of each method and scores each by its dense
    part (passage cosine plus ``sentence_weight`` times its best sentence's cosine, from the
    sentence vectors stored at ingest) and its BM25 score; each part is rescaled over the pool to
    [0, 1] and the rank is ``dense_weight * dense part + (1 - dense_weight) * coverage * bm25``,
    where ``coverage`` is the share of the question's IDF mass that the corpus holds (1 when
    ``lexical_coverage`` is off).

    ``max_per_article`` caps how many of the returned passages one article may fill while
    passages of other articles are left; the cap relaxes when there are none.

    With ``acronyms``, the BM25 side also looks for the other form of an acronym the corpus
    spells out ("CPEC" and "China-Pakistan Economic Corridor"): ``Snapshot.with_acronyms``.

    ``recency_margin`` lets a newer article win a near-tie: the ranking is built best first,
    and each next place goes to the most recently published of the remaining candidates that
    score within the margin of the best remaining one (an undated article counts as oldest;
    equal dates keep the score order). At 0 the ranking is by score alone.

    A question that asks for the latest word (``search(..., latest=True)``) gets a bounded
    recency prior: each candidate's score is multiplied by ``floor + (1 - floor) * 0.5 **
    (age / half_life)``, its age in days counted from the newest candidate's publication, so an
    older article can still answer when nothing newer does; and the near-tie margin widens to
    ``latest_margin``, so among the versions of one story (which score alike) the newest leads.
    """

    def __init__(
        self,
        embedder: Embedder,
        method: Method = "hybrid",
        dense_weight: float = 0.6,
        sentence_weight: float = 1.0,
        lexical_coverage: bool = True,
        candidates: int = 100,
        max_per_article: int | None = None,
        recency_margin: float = 0.0,
        acronyms: bool = True,
        latest_half_life: float = 30.0,
        latest_floor: float = 0.5,
        latest_margin: float = 0.1,
    ) -> None:
        if not isinstance(embedder, Embedder):
            raise TypeError(f"embedder must implement the Embedder protocol, got {embedder!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        if not 0.0 <= dense_weight <= 1.0:
            raise ValueError(f"dense_weight must be between 0 and 1, got {dense_weight}")
        if sentence_weight < 0:
            raise ValueError(f"sentence_weight must not be negative, got {sentence_weight}")
        if candidates < 1:
            raise ValueError(f"candidates must be at least 1, got {candidates}")
        if max_per_article is not None and max_per_article < 1:
            raise ValueError(f"max_per_article must be at least 1, got {max_per_article}")
        if recency_margin < 0:
            raise ValueError(f"recency_margin must not be negative, got {recency_margin}")
        if latest_half_life <= 0:
            raise ValueError(f"latest_half_life must be positive, got {latest_half_life}")
        if not 0.0 <= latest_floor <= 1.0:
            raise ValueError(f"latest_floor must be between 0 and 1, got {latest_floor}")
        if latest_margin < 0:
            raise ValueError(f"latest_margin must not be negative, got {latest_margin}")
        self.embedder = embedder
        self.method: Method = method
        self.dense_weight = dense_weight
        self.sentence_weight = sentence_weight
        self.lexical_coverage = lexical_coverage
        self.candidates = candidates
        self.max_per_article = max_per_article
        self.recency_margin = recency_margin
        self.acronyms = acronyms
        self.latest_half_life = latest_half_life
        self.latest_floor = latest_floor
        self.latest_margin = latest_margin

    def encode(self, question: str) -> Query:
        """Tokenize and embed the question: the one model call a question costs."""
        return Query(question, tuple(tokenize(question)), self.embedder.embed_query(question))

    def search(
        self,
        snapshot: CorpusView,
        query: Query,
        k: int,
        method: Method | None = None,
        max_per_article: int | Literal["default"] | None = "default",
        filters: Filters | None = None,
        latest: bool = False,
    ) -> list[Hit]:
        """Return the ``k`` best passages, best first; ``method`` and ``max_per_article``
        override the retriever's own for this call; ``latest`` applies the recency prior.

        With ``filters``, only passages of matching articles are ranked: the filter applies
        before the candidates are cut, not to the top k afterwards.
        """
        method = method or self.method
        cap = self.max_per_article if max_per_article == "default" else max_per_article
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        if snapshot.passage_count == 0 or k < 1:
            return []
        pool = max(self.candidates, k * 3)
        terms = snapshot.with_acronyms(query.terms) if self.acronyms else query.terms
        where = None if filters is None or filters.empty else filters.where()
        vector = np.asarray(query.vector, dtype=np.float32)
        found = snapshot.candidates(
            vector,
            query.text,
            terms,
            pool,
            dense=method in ("dense", "hybrid"),
            lexical=method in ("bm25", "hybrid"),
            where=where,
        )
        positions, dense, sentence, lexical = (
            found.positions,
            found.dense,
            found.sentence,
            found.lexical,
        )
        if not len(positions):
            return []
        if method == "dense":
            fused = dense
        elif method == "bm25":
            fused = lexical
        else:
            w = self.dense_weight
            semantic = dense + self.sentence_weight * sentence
            # Min-max stretches BM25 to [0, 1] even when only the question's weak words matched;
            # scaling by the share of its IDF mass the corpus knows keeps that noise small.
            coverage = snapshot.lexical.coverage(terms) if self.lexical_coverage else 1.0
            fused = w * _minmax(semantic) + (1 - w) * coverage * _minmax(lexical)
        margin = self.recency_margin
        if latest:
            fused = fused * _recency_prior(
                snapshot.published_days(positions), fused, self.latest_half_life, self.latest_floor
            )
            margin = max(margin, self.latest_margin)
        order = np.argsort(-fused, kind="stable")
        if margin:
            order = _newer_first(snapshot, positions, fused, order, margin, k * 3)
        ranked = _diversify(snapshot, positions[order], k, cap)
        index_of = {int(p): i for i, p in enumerate(positions)}
        hits = []
        for pos in ranked:
            i = index_of[pos]
            hits.append(
                Hit(
                    position=pos,
                    rowid=snapshot.rowid(pos),
                    passage=snapshot.passage(pos),
                    article=snapshot.article_of(pos),
                    score=float(fused[i]),
                    dense=float(dense[i]),
                    sentence=float(sentence[i]),
                    lexical=float(lexical[i]),
                )
            )
        return hits


def _recency_prior(
    days: npt.NDArray[np.float64],
    scores: npt.NDArray[np.float32],
    half_life: float,
    floor: float,
) -> npt.NDArray[np.float32]:
    """Per candidate, ``floor + (1 - floor) * 0.5 ** (age / half_life)``, the age in days
    behind the newest dated candidate that could answer (scoring at least half the best: a
    newer article on another subject must not age the story); an undated one gets the floor."""
    contenders = ~np.isnan(days) & (scores >= PRIOR_REACH * float(scores.max(initial=0.0)))
    if not contenders.any():
        return np.ones(len(days), dtype=np.float32)
    newest = float(days[contenders].max())
    age = np.where(np.isnan(days), np.inf, np.maximum(newest - np.nan_to_num(days), 0.0))
    prior = floor + (1.0 - floor) * np.power(0.5, age / half_life)
    return prior.astype(np.float32)


def _newer_first(
    snapshot: CorpusView,
    positions: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float32],
    order: npt.NDArray[np.int64],
    margin: float,
    places: int,
) -> npt.NDArray[np.int64]:
    """``order`` (indexes into ``positions``, best score first) with its first ``places``
    re-chosen one at a time: the newest of the remaining candidates scoring within ``margin``
    of the best remaining one."""
    ranked = scores[order]
    if not len(order):
        return order
    # Whatever fills the first places scores at least the last place's score less the margin;
    # only those candidates need their dates.
    reach = int(np.searchsorted(-ranked, -(ranked[min(places, len(order)) - 1] - margin), "right"))
    days = snapshot.published_days(positions[order[:reach]])
    if len(np.unique(days[~np.isnan(days)])) < 2:
        return order
    days = np.nan_to_num(days, nan=-np.inf)
    left = np.arange(reach)  # indexes into ``order``, kept in score order
    chosen: list[int] = []
    while len(left) and len(chosen) < places:
        near = int(np.searchsorted(-ranked[left], -(ranked[left[0]] - margin), "right"))
        pick = int(np.argmax(days[left[:near]]))  # the first of equal dates: the best score
        chosen.append(int(left[pick]))
        left = np.delete(left, pick)
    rest = np.setdiff1d(np.arange(len(order)), chosen, assume_unique=True)
    reordered: npt.NDArray[np.int64] = order[
        np.concatenate([np.asarray(chosen, dtype=np.int64), rest])
    ]
    return reordered


def _diversify(
    snapshot: CorpusView, order: npt.NDArray[np.int64], k: int, cap: int | None
) -> list[int]:
    """The first ``k`` positions, at most ``cap`` per article while others remain."""
    if cap is None:
        return [int(p) for p in order[:k]]
    taken: list[int] = []
    held_back: list[int] = []
    per_article: dict[str, int] = {}
    for pos in order:
        article_id = snapshot.passage(int(pos)).article_id
        if per_article.get(article_id, 0) < cap:
            per_article[article_id] = per_article.get(article_id, 0) + 1
            taken.append(int(pos))
            if len(taken) == k:
                return taken
        else:
            held_back.append(int(pos))
    return taken + held_back[: k - len(taken)]


def article_ranking(hits: Sequence[Hit]) -> list[str]:
    """Article ids in the order of their best passage."""
    return list(dict.fromkeys(h.article.id for h in hits))
