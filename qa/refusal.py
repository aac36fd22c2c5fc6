"""Deciding "not in the articles": a logistic model over retrieval signals, calibrated on data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from index.view import CorpusView
from qa.models import Hit
from qa.retrieve import Query

FEATURES = ("dense", "sentence", "centroid", "best_passage_idf_share")
# With the answer model: its logit for the answer sentence, the strongest signal of the five.
ANSWER_FEATURES = (*FEATURES, "answer")
# The answer feature of a question with no sentence to judge.
NO_ANSWER_SCORE = -10.0


def refusal_features(snapshot: CorpusView, query: Query, hits: Sequence[Hit]) -> list[float]:
    """The signals, from what retrieval already holds (no model call):

    - ``dense``: the best passage cosine among the hits;
    - ``sentence``: the best sentence cosine among them;
    - ``centroid``: the question's cosine to the corpus centroid, how near it is to what the
      corpus is about as a whole (a claim from another field sits far from it, however close
      one passage happens to be);
    - ``best_passage_idf_share``: the share of the IDF mass of the question's words the corpus
      knows that the first passage holds (words the corpus never uses are left out, so a
      paraphrase is not held against the question).
    """
    dense = max((h.dense or 0.0 for h in hits), default=0.0)
    sentence = max((h.sentence or 0.0 for h in hits), default=0.0)
    vector = np.asarray(query.vector, dtype=np.float32)
    centroid = float(snapshot.centroid @ vector)
    return [dense, sentence, centroid, _idf_share(snapshot, query, hits[:1])]


def _idf_share(snapshot: CorpusView, query: Query, hits: Sequence[Hit]) -> float:
    lexical = snapshot.lexical
    known = [(t, lexical.idf(t)) for t in query.terms if lexical.known(t)]
    total = sum(idf for _, idf in known)
    if not hits or total <= 0:
        return 0.0
    words = frozenset().union(*snapshot.sentence_terms(hits[0].position))
    return sum(idf for t, idf in known if t in words) / total


@dataclass(frozen=True)
class RefusalModel:
    """``P(answerable) = sigmoid(bias + weights · features)``; answer when it reaches
    ``threshold``. ``features`` names the signals the weights go with: ``FEATURES``, or
    ``ANSWER_FEATURES`` when the answer model's score is one."""

    weights: tuple[float, ...]
    bias: float
    threshold: float
    features: tuple[str, ...] = FEATURES

    def probability(self, features: Sequence[float]) -> float:
        """The model's probability that the corpus answers the question."""
        z = self.bias + sum(w * f for w, f in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def answers(self, features: Sequence[float]) -> bool:
        """Whether the question is taken to be answered by the corpus."""
        return self.probability(features) >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored with an index."""
        return {**asdict(self), "features": list(self.features), "weights": list(self.weights)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RefusalModel:
        """Read the form written by ``to_dict``; raises ``ValueError`` if it does not fit."""
        features = tuple(data.get("features", []))
        if features not in (FEATURES, ANSWER_FEATURES):
            raise ValueError(
                f"refusal model features {list(features)} are neither {list(FEATURES)} nor "
                f"{list(ANSWER_FEATURES)}"
            )
        weights = tuple(float(w) for w in data["weights"])
        if len(weights) != len(features):
            raise ValueError(
                f"refusal model has {len(weights)} weights for {len(features)} features"
            )
        return cls(
            weights=weights,
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            features=features,
        )


def fit_refusal(
    answerable: npt.NDArray[np.float64],
    unanswerable: npt.NDArray[np.float64],
    max_false_refusals: float = 0.05,
    l2: float = 1e-3,
    features: tuple[str, ...] = FEATURES,
) -> RefusalModel:
    """Fit the logistic model (Newton's method, balanced class weights), then set the threshold
    as high as it goes while refusing at most ``max_false_refusals`` of the answerable set."""
    x = np.vstack([answerable, unanswerable])
    x = np.hstack([np.ones((len(x), 1)), x])
    y = np.concatenate([np.ones(len(answerable)), np.zeros(len(unanswerable))])
    sample_weight = np.where(y == 1, 0.5 / len(answerable), 0.5 / len(unanswerable))
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -60, 60)))
        gradient = x.T @ (sample_weight * (p - y)) + l2 * beta
        hessian = (x * (sample_weight * p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    weights, bias = tuple(float(b) for b in beta[1:]), float(beta[0])
    model = RefusalModel(weights, bias, 0.5, features)
    probabilities = np.sort([model.probability(f) for f in answerable])
    threshold = float(probabilities[math.floor(max_false_refusals * len(probabilities))])
    return RefusalModel(weights, bias, round(threshold, 6), features)


REFUSAL_KEY = "refusal"
# Stored apart, so that turning the answer model off and on keeps each fit.
ANSWER_REFUSAL_KEY = "refusal-answer-model"


def refusal_key(features: tuple[str, ...]) -> str:
    """The corpus setting a refusal model over ``features`` is stored under."""
    return ANSWER_REFUSAL_KEY if features == ANSWER_FEATURES else REFUSAL_KEY


# Fitted by `qa calibrate` (half of SQuAD's and the gold set's answerable questions against
# SciFact's train claims and half of SQuAD's and the gold set's unanswerable questions, at most
# 3 % of the answerable refused); written into every new index, where it can be re-fitted.
DEFAULT_REFUSAL = RefusalModel(
    weights=(1.617456, 2.597687, 1.772256, 1.418217), bias=-3.619267, threshold=0.293248
)
# The same fit with the answer model's score (``ANSWER_FEATURES``): the shipped answer model,
# fitted by `qa calibrate` as above.
DEFAULT_ANSWER_REFUSAL = RefusalModel(
    weights=(1.580566, 1.627231, 1.574746, 0.393866, 0.230655),
    bias=-2.625288,
    threshold=0.296777,
    features=ANSWER_FEATURES,
)
