"""The temporal set (``data/temporal``): questions that name a time, "latest" questions and
timelines, measured through the answerer and the timeline builder the service uses.

Figures: window exact (the question's window, or none, as expected: from and to equal), answer
from the right period (answered from the article of the named period, its sentence holding the
answer), a period without articles flagged as such (answered from every date, ``widened``), the
latest-answer rate (and how often a stale figure was given instead), evergreen answers unmoved
by the anchor, and timeline event precision, recall and order (an event matches a gold one when
its date is the gold date and its sentence, or one it merged, is the gold article's sentence).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from evaluation.datasets import Dataset, EvalQuery, _read_articles
from qa.answer import Answerer
from qa.models import Answer
from qa.timeline import TimelineEvent, build_timeline
from qa.timewords import read_time

# How far the anchor moves when checking that evergreen answers do not move with it.
ANCHOR_SHIFT = timedelta(days=400)


@dataclass(frozen=True)
class TemporalQuestion:
    """A question asked on ``as_of`` with the window it names (None: none) and its answer."""

    id: str
    text: str
    as_of: date
    window: tuple[date, date] | None
    article: str | None  # None: no article is from the named period
    answers: tuple[str, ...]
    stale: tuple[str, ...]
    latest: bool


@dataclass(frozen=True)
class GoldEvent:
    day: date
    article: str
    text: str  # a part of the event's sentence


@dataclass(frozen=True)
class GoldTimeline:
    id: str
    query: str
    as_of: date
    events: tuple[GoldEvent, ...]


@dataclass(frozen=True)
class TemporalSet:
    dataset: Dataset  # the articles, and the questions as retrieval queries
    questions: tuple[TemporalQuestion, ...]
    timelines: tuple[GoldTimeline, ...]


@dataclass(frozen=True)
class TemporalScores:
    """The temporal figures (shares in [0, 1]) and the counts they are over."""

    questions: int
    window_exact: float
    period_questions: int
    right_period: float
    empty_periods: int
    empty_refused: float
    latest_questions: int
    latest_rate: float
    latest_stale: float
    evergreen_questions: int
    evergreen_stable: float
    timeline_events: int
    timeline_precision: float
    timeline_recall: float
    timeline_order: float


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_temporal(folder: Path) -> TemporalSet:
    """The articles, questions and timelines of the temporal set in ``folder``."""
    articles = _read_articles(folder / "articles.jsonl")
    questions = tuple(
        TemporalQuestion(
            id=q["id"],
            text=q["question"],
            as_of=date.fromisoformat(q["as_of"]),
            window=None
            if q["window"] is None
            else (date.fromisoformat(q["window"]["from"]), date.fromisoformat(q["window"]["to"])),
            article=q["article"],
            answers=tuple(q["answers"]),
            stale=tuple(q["stale"]),
            latest=bool(q["latest"]),
        )
        for q in _read_jsonl(folder / "questions.jsonl")
    )
    timelines = tuple(
        GoldTimeline(
            id=t["id"],
            query=t["query"],
            as_of=date.fromisoformat(t["as_of"]),
            events=tuple(
                GoldEvent(date.fromisoformat(e["date"]), e["article"], e["text"])
                for e in t["events"]
            ),
        )
        for t in _read_jsonl(folder / "timelines.jsonl")
    )
    # As retrieval queries (no window applied): the article that answers each question.
    queries = [
        EvalQuery(
            id=q.id,
            text=q.text,
            answerable=True,
            relevant={q.article: 1},
            answers=q.answers,
            stale=q.stale,
        )
        for q in questions
        if q.article is not None
    ]
    return TemporalSet(
        Dataset(name=folder.name, kind="temporal", articles=articles, queries=queries),
        questions,
        timelines,
    )


def _sentence(answer: Answer) -> tuple[str | None, str | None]:
    """The answer sentence and the article it is quoted from (None, None when refused)."""
    if not answer.answered:
        return None, None
    for citation in answer.citations:
        if citation.highlight is not None:
            return citation.highlight.text, citation.hit.article.id
    return None, None


def _share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def _matches(event: TimelineEvent, gold: GoldEvent) -> bool:
    mentions = (event.mention, *event.also)
    return event.day == gold.day and any(
        m.article.id == gold.article and gold.text in m.sentence.text for m in mentions
    )


def score_temporal(answerer: Answerer, temporal: TemporalSet) -> TemporalScores:
    """Ask every question on its own ``as_of`` and build every timeline; returns the figures."""
    exact = right = periods = empty = refused = 0
    latest = latest_right = latest_stale = evergreen = stable = 0
    for q in temporal.questions:
        window = read_time(q.text, q.as_of).window
        found = None if window is None else (window.start, window.end)
        exact += found == q.window
        answer = answerer.ask(q.text, as_of=q.as_of)
        sentence, article = _sentence(answer)
        holds = sentence is not None and any(a in sentence for a in q.answers)
        if q.window is not None and q.article is None:
            empty += 1
            refused += answer.widened  # answered from every date, and saying so
        elif q.window is not None:
            periods += 1
            right += holds and article == q.article
        elif q.latest:
            latest += 1
            latest_right += holds
            latest_stale += (
                not holds and sentence is not None and any(s in sentence for s in q.stale)
            )
        else:
            evergreen += 1
            later = answerer.ask(q.text, as_of=q.as_of + ANCHOR_SHIFT)
            stable += later.text == answer.text and later.time_window is None
    returned = matched_returned = gold_total = matched_gold = 0
    ordered = pairs = 0
    for gold in temporal.timelines:
        events = build_timeline(answerer, gold.query, as_of=gold.as_of).events
        returned += len(events)
        gold_total += len(gold.events)
        matched_returned += sum(any(_matches(e, g) for g in gold.events) for e in events)
        positions = []
        for g in gold.events:
            at = next((i for i, e in enumerate(events) if _matches(e, g)), None)
            if at is not None:
                matched_gold += 1
                positions.append((g.day, at))
        for i, (day_a, at_a) in enumerate(positions):
            for day_b, at_b in positions[i + 1 :]:
                if day_a != day_b:
                    pairs += 1
                    ordered += (day_a < day_b) == (at_a < at_b)
    return TemporalScores(
        questions=len(temporal.questions),
        window_exact=_share(exact, len(temporal.questions)),
        period_questions=periods,
        right_period=_share(right, periods),
        empty_periods=empty,
        empty_refused=_share(refused, empty),
        latest_questions=latest,
        latest_rate=_share(latest_right, latest),
        latest_stale=_share(latest_stale, latest),
        evergreen_questions=evergreen,
        evergreen_stable=_share(stable, evergreen),
        timeline_events=gold_total,
        timeline_precision=_share(matched_returned, returned),
        timeline_recall=_share(matched_gold, gold_total),
        timeline_order=_share(ordered, pairs) if pairs else 1.0,
    )


def temporal_line(s: TemporalScores) -> str:
    """The figures as one report line."""
    return (
        f"temporal ({s.questions} q): window exact {s.window_exact:.3f}; answer from the right "
        f"period {s.right_period:.3f} ({s.period_questions} q); period without articles flagged "
        f"{s.empty_refused:.3f} ({s.empty_periods} q); latest answer {s.latest_rate:.3f}, stale "
        f"{s.latest_stale:.3f} ({s.latest_questions} q); evergreen unmoved by the anchor "
        f"{s.evergreen_stable:.3f} ({s.evergreen_questions} q); timeline precision "
        f"{s.timeline_precision:.3f} recall {s.timeline_recall:.3f} order {s.timeline_order:.3f}"
        f" ({s.timeline_events} events)"
    )
