"""Retrieval, answer and refusal metrics, computed by running the answering pipeline itself."""

from __future__ import annotations

import math
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from evaluation.datasets import Conversation, Dataset, EvalQuery
from qa.answer import Answerer
from qa.answertype import answer_type
from qa.conversation.followup import resolve_followup
from qa.retrieve import Method, article_ranking

RECALL_KS = (1, 2, 3, 5, 10, 20, 50, 100)
# Passages fetched per query for article-level metrics: enough to fill 100 distinct articles
# when an article has a few passages.
ARTICLE_POOL = 400


def ndcg(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """nDCG@k with graded relevance (the BEIR/trec_eval definition)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(grade / math.log2(i + 2) for i, grade in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Share of the relevant items found in the first ``k``."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """1/rank of the first relevant item within ``k`` (0 if none)."""
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant:
            return 1.0 / (i + 1)
    return 0.0


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def _contains_span(text: str, spans: Iterable[str]) -> bool:
    flat = " ".join(text.split())
    return any(" ".join(span.split()) in flat for span in spans)


def judged_spans(query: EvalQuery, article_text: str) -> tuple[str, ...]:
    """The answer spans that pin one place in the text (all of them if none does)."""
    unique = tuple(s for s in query.answers if article_text.count(s) == 1)
    return unique or query.answers


@dataclass
class RetrievalScores:
    """Ranking quality of one method on one dataset."""

    method: str
    queries: int
    ndcg_at_10: float
    mrr_at_10: float
    recall: dict[int, float] = field(default_factory=dict)


@dataclass
class DiversityScores:
    """How many articles the first ``k`` passages come from, and the relevant share covered."""

    max_per_article: int | None
    k: int
    distinct_articles: float
    article_recall: float


@dataclass
class RefusalScores:
    """How well "not in the articles" separates the two sets of questions.

    Precision: of the refused questions, the share that truly were out of corpus (None when
    nothing was refused). Recall: of the out-of-corpus questions, the share refused.
    ``false_refusals``: share of answerable ones refused.
    """

    answerable: int
    unanswerable: int
    precision: float | None
    recall: float
    false_refusals: float
    # Share of the out-of-corpus questions refused, per the answer type they ask for.
    recall_by_type: dict[str, float] = field(default_factory=dict)


class Evaluator:
    """Runs a dataset's queries through an ``Answerer`` already holding the dataset's articles."""

    def __init__(self, answerer: Answerer, dataset: Dataset) -> None:
        self.answerer = answerer
        self.dataset = dataset
        self._texts = {a.id: a.text for a in dataset.articles}

    def _relevant(self, query: EvalQuery) -> dict[str, int]:
        if self.dataset.kind != "gold":
            return dict(query.relevant)
        # The gold set judges passages: the one holding the answer span.
        relevant = {}
        for _, passage in self.answerer.corpus.snapshot.iter_passages():
            spans = judged_spans(query, self._texts[passage.article_id])
            if any(span in passage.text for span in spans):
                relevant[passage.id] = 1
        return relevant

    def _ranking(self, query: EvalQuery, method: Method) -> list[str]:
        if self.dataset.kind == "gold":
            hits = self.answerer.search(query.text, max(RECALL_KS), method)
            return [h.passage.id for h in hits]
        return article_ranking(self.answerer.search(query.text, ARTICLE_POOL, method))

    def retrieval(self, method: Method) -> RetrievalScores:
        """nDCG@10, MRR@10 and recall@k over the answerable queries."""
        rows = []
        for query in self.dataset.queries:
            if not query.answerable:
                continue
            relevant = self._relevant(query)
            ranked = self._ranking(query, method)
            rows.append((ranked, relevant))
        return RetrievalScores(
            method=method,
            queries=len(rows),
            ndcg_at_10=_mean(ndcg(r, rel, 10) for r, rel in rows),
            mrr_at_10=_mean(reciprocal_rank(r, rel, 10) for r, rel in rows),
            recall={k: _mean(recall(r, rel, k) for r, rel in rows) for k in RECALL_KS},
        )

    def diversity(self, cap: int | None, k: int = 10) -> DiversityScores:
        """Distinct articles among the first ``k`` passages, and the share of relevant articles
        those passages cover, with at most ``cap`` passages per article (None: no cap)."""
        retriever = self.answerer.retriever
        snapshot = self.answerer.corpus.snapshot
        distinct, covered = [], []
        for query in self.dataset.queries:
            if not query.answerable:
                continue
            hits = retriever.search(snapshot, retriever.encode(query.text), k, max_per_article=cap)
            articles = article_ranking(hits)
            distinct.append(len(articles))
            covered.append(recall(articles, query.relevant, len(articles)))
        return DiversityScores(cap, k, _mean(distinct), _mean(covered))

    def answers(self, limit: int | None = None) -> AnswerScores:
        """What a person asking reads, over the answerable queries asked through ``ask``: the
        share answered (not refused), whose first citation (and any of the first three) holds
        the answer, whose answer sentence holds an answer span, and how exact ``answer_span``
        is (SQuAD's exact match and token F1); all of it per answer type too (the dataset's
        label, else the type read from the question)."""
        queries = [q for q in self.dataset.queries if q.answerable and q.answers][:limit]
        rows: list[_AnswerRow] = []
        for query in queries:
            answer = self.answerer.ask(query.text, top_k=3)
            text = answer.text or ""
            article_id = next(iter(query.relevant), None)
            spans = (
                judged_spans(query, self._texts[article_id])
                if article_id
                else judged_spans(query, "\n".join(self._texts.values()))
            )
            cited = [
                c.hit.passage.id if self.dataset.kind == "gold" else c.hit.passage.article_id
                for c in answer.citations
            ]
            relevant = self._relevant(query)
            found = answer.span.text if answer.span is not None else None
            rows.append(
                _AnswerRow(
                    kind=query_kind(query),
                    answered=answer.answered,
                    first=bool(cited[:1]) and cited[0] in relevant,
                    top3=any(c in relevant for c in cited[:3]),
                    sentence=answer.answered and _contains_span(text, spans),
                    stale=answer.answered and _contains_span(text, query.stale),
                    found=found is not None,
                    exact=found is not None and max(exact_match(found, a) for a in query.answers),
                    f1=max(token_f1(found, a) for a in query.answers) if found is not None else 0,
                )
            )
        by_type = {
            name: _answer_scores([r for r in rows if r.kind == name])
            for name in sorted({r.kind for r in rows})
        }
        return replace(_answer_scores(rows), by_type=by_type)


def query_kind(query: EvalQuery) -> str:
    """The answer type a query is reported under: its label, else the one its words ask for."""
    if query.kind:
        return query.kind
    kind = answer_type(query.text)
    return kind.name if kind is not None else "other"


@dataclass(frozen=True)
class _AnswerRow:
    kind: str
    answered: bool
    first: bool
    top3: bool
    sentence: bool
    stale: bool
    found: bool
    exact: bool
    f1: float


def _answer_scores(rows: Sequence[_AnswerRow]) -> AnswerScores:
    return AnswerScores(
        queries=len(rows),
        answered=_mean(float(r.answered) for r in rows),
        cited_first=_mean(float(r.first) for r in rows),
        cited_top3=_mean(float(r.top3) for r in rows),
        sentence_holds=_mean(float(r.sentence) for r in rows),
        sentence_stale=_mean(float(r.stale) for r in rows),
        span_found=_mean(float(r.found) for r in rows),
        span_exact=_mean(float(r.exact) for r in rows),
        span_f1=_mean(r.f1 for r in rows),
    )


def _normalise(text: str) -> list[str]:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, as tokens."""
    text = "".join(c for c in text.lower() if c not in _PUNCTUATION)
    return [w for w in text.split() if w not in ("a", "an", "the")]


_PUNCTUATION = frozenset(string.punctuation) | frozenset("‘’“”–—")


def exact_match(found: str, truth: str) -> bool:
    """Whether the two answers are the same once normalised (SQuAD's exact match)."""
    return _normalise(found) == _normalise(truth)


def token_f1(found: str, truth: str) -> float:
    """SQuAD's token F1 of a found answer against a true one."""
    a, b = _normalise(found), _normalise(truth)
    common = sum((Counter(a) & Counter(b)).values())
    if not a or not b or not common:
        return float(a == b)
    precision, recall_ = common / len(a), common / len(b)
    return 2 * precision * recall_ / (precision + recall_)


@dataclass
class AnswerScores:
    """The answer a person reads, over answerable queries: the share answered at all, whose
    first citation holds the answer (``cited_first``; any of the first three: ``cited_top3``),
    whose answer sentence holds an answer span (and, for a story told twice, a span of its
    earlier version, now wrong: ``sentence_stale``); of ``answer_span``, the share found at all, its
    exact match and token F1 against the answers (0 when none was found); per answer type in
    ``by_type``."""

    queries: int
    answered: float
    cited_first: float
    cited_top3: float
    sentence_holds: float
    sentence_stale: float
    span_found: float
    span_exact: float
    span_f1: float
    by_type: dict[str, AnswerScores] = field(default_factory=dict)


@dataclass
class FollowupScores:
    """Recall@3 of the last turn's answer passage, with and without the earlier turns, and the
    share of last turns (read with the earlier ones) whose answer sentence holds the span."""

    conversations: int
    with_history: float
    without_history: float
    sentence_with_history: float = 0.0


def followup_recall(
    answerer: Answerer,
    conversations: Sequence[Conversation],
    article_text: str,
    min_specificity: float,
    k: int = 3,
) -> FollowupScores:
    """Ask each conversation's turns in order, reading each after the one before as the API
    does, and check whether the last turn's answer passage is among the first ``k``."""
    lexical = answerer.corpus.snapshot.lexical
    with_history: list[bool] = []
    without: list[bool] = []
    sentences: list[bool] = []
    for conversation in conversations:
        previous: str | None = None  # the turn before's resolved query
        for question in conversation.questions[:-1]:
            previous = resolve_followup(question, previous, lexical, min_specificity)
        last = conversation.questions[-1]
        spans = judged_spans(EvalQuery("", last, True, answers=conversation.answers), article_text)
        resolved = resolve_followup(last, previous, lexical, min_specificity)
        for text, out in ((resolved, with_history), (last, without)):
            hits = answerer.search(text, k)
            out.append(any(span in h.passage.text for h in hits for span in spans))
        answer = answerer.ask(last, resolved=resolved)
        sentences.append(answer.answered and _contains_span(answer.text or "", spans))
    return FollowupScores(len(conversations), _mean(with_history), _mean(without), _mean(sentences))


def refusal(
    answerer: Answerer,
    answerable: Sequence[str],
    unanswerable: Sequence[str],
    kinds: Sequence[str] | None = None,
) -> RefusalScores:
    """Ask both sets through ``answerer.ask`` and score the refusals; with ``kinds`` (the answer
    type of each unanswerable question), also the share refused per type."""
    refused_in = sum(not answerer.ask(q).answered for q in answerable)
    out = [not answerer.ask(q).answered for q in unanswerable]
    refused_out = sum(out)
    refused = refused_in + refused_out
    by_type: dict[str, list[bool]] = {}
    for kind, was_refused in zip(kinds or (), out, strict=False):
        by_type.setdefault(kind, []).append(was_refused)
    return RefusalScores(
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        precision=refused_out / refused if refused else None,
        recall=refused_out / len(unanswerable) if unanswerable else 0.0,
        false_refusals=refused_in / len(answerable) if answerable else 0.0,
        recall_by_type={k: _mean(float(r) for r in v) for k, v in sorted(by_type.items())},
    )


def as_json(value: Any) -> Any:
    """Dataclass results as plain JSON-ready values."""
    return asdict(value) if hasattr(value, "__dataclass_fields__") else value
