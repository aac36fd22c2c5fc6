"""The answering pipeline: retrieve, decide whether the corpus answers, pick the sentence, cite."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from index.corpus import Corpus
from index.view import CorpusView
from qa.answertype import EXPANSION, answer_type
from qa.errors import QuestionError
from qa.extract import Pick, Picker, SentencePicker
from qa.models import Answer, Citation, Copy, Filters, Hit
from qa.refusal import NO_ANSWER_SCORE, RefusalModel, refusal_features
from qa.retrieve import Method, Query, Retriever
from qa.stories import Collapsed, StoryLookup, collapse_copies
from qa.timewords import EmptyPeriod, TimeWindow, join_window, read_time

MAX_TOP_K = 50
MAX_SEARCH_K = 1000
# Passages looked at for the refusal signals and the answer sentence, whatever top_k asks for.
MIN_POOL = 10


@dataclass(frozen=True)
class Retrieval:
    """One question's retrieval: what the refusal model and the sentence picker look at."""

    snapshot: CorpusView
    query: Query
    hits: list[Hit]
    features: list[float]
    # The answer sentence when the picker scores its picks (the answer model): it is judged
    # before the refusal, whose last feature is its score.
    pick: Pick | None = None
    latest: bool = False  # the question asks for the latest word
    # For each article cited, the other copies of its story (hits hold one copy per story).
    also_in: Mapping[str, tuple[Copy, ...]] = field(default_factory=dict)


class Answerer:
    """Answers a question with a sentence quoted from the corpus, or refuses when nothing fits.

    Without a ``refusal`` model every question with any hit is answered. With a picker that
    scores its picks (the answer model), the answer sentence is judged before the refusal.
    """

    def __init__(
        self,
        corpus: Corpus,
        retriever: Retriever,
        picker: Picker | None = None,
        refusal: RefusalModel | None = None,
        stories: StoryLookup | None = None,
    ) -> None:
        self.corpus = corpus
        self.retriever = retriever
        self.picker = picker or SentencePicker()
        self.refusal = refusal
        # Where copies of a syndicated story are found; None cites every copy on its own.
        self.stories = stories

    def _collapsed(
        self,
        snapshot: CorpusView,
        query: Query,
        k: int,
        method: Method | None = None,
        filters: Filters | None = None,
        latest: bool = False,
    ) -> Collapsed:
        """The ``k`` best hits, one copy per story (when stories are kept)."""
        hits = self.retriever.search(snapshot, query, k, method, filters=filters, latest=latest)
        if self.stories is None:
            return Collapsed(hits, {})
        found = collapse_copies(snapshot, hits, self.stories)
        if len(found.hits) < len(hits):
            # Copies filled several places: look further, so that k stories remain. (Only
            # then: without copies the ranking is exactly the retriever's.)
            hits = self.retriever.search(
                snapshot, query, 2 * k, method, filters=filters, latest=latest
            )
            found = collapse_copies(snapshot, hits, self.stories)
        return Collapsed(found.hits[:k], found.also_in)

    def search_citations(
        self,
        query: str,
        k: int = 10,
        method: Method | None = None,
        filters: Filters | None = None,
        collapse: bool = True,
    ) -> list[Citation]:
        """The ``k`` passages ranked best for ``query`` as citations; with ``collapse``, one
        copy per story, the others in its ``also_in``."""
        if not collapse:
            hits = self.search(query, k, method, filters)
            return [Citation(rank=i + 1, hit=h) for i, h in enumerate(hits)]
        query = _checked(query, k, MAX_SEARCH_K)
        snapshot = self.corpus.snapshot
        found = self._collapsed(snapshot, self.retriever.encode(query), k, method, filters)
        return [
            Citation(rank=i + 1, hit=h, also_in=found.also_in.get(h.article.id, ()))
            for i, h in enumerate(found.hits)
        ]

    def search(
        self,
        query: str,
        k: int = 10,
        method: Method | None = None,
        filters: Filters | None = None,
    ) -> list[Hit]:
        """Return the ``k`` passages ranked best for ``query``, with no answer logic."""
        query = _checked(query, k, MAX_SEARCH_K)
        snapshot = self.corpus.snapshot
        encoded = self.retriever.encode(query)
        return self.retriever.search(snapshot, encoded, k, method, filters=filters)

    def retrieve(
        self,
        question: str,
        top_k: int = 5,
        filters: Filters | None = None,
        snapshot: CorpusView | None = None,
        asked: str | None = None,
        latest: bool = False,
    ) -> Retrieval:
        """Retrieve for ``question`` and compute the refusal signals, on ``snapshot`` if given
        (a caller that already holds one), else on the corpus's current one. With a scoring
        picker, the answer sentence among the first ``top_k`` hits is judged here too, and its
        score joins the signals; ``asked`` is the question as asked when ``question`` is its
        resolved form (a follow-up); ``latest`` prefers newer articles (``Retriever.search``)."""
        question = _checked(question, top_k, MAX_TOP_K)
        snapshot = snapshot or self.corpus.snapshot
        query = self.retriever.encode(question)
        found = self._collapsed(
            snapshot, query, max(top_k, MIN_POOL), filters=filters, latest=latest
        )
        hits = found.hits
        features = refusal_features(snapshot, query, hits)
        if not self.picker.scores:
            return Retrieval(snapshot, query, hits, features, latest=latest, also_in=found.also_in)
        pick = self._pick(snapshot, query, hits[:top_k], asked or question, latest)
        score = pick.score if pick is not None and pick.score is not None else NO_ANSWER_SCORE
        return Retrieval(
            snapshot, query, hits, [*features, score], pick, latest, also_in=found.also_in
        )

    def _pick(
        self,
        snapshot: CorpusView,
        query: Query,
        hits: list[Hit],
        question: str,
        latest: bool,
    ) -> Pick | None:
        """The picker's answer sentence among ``hits``. For a question asking for the latest
        word, first among the passages of the first hit's article (the report the recency
        prior ranked first): the newest report of a story answers, not an older one that
        repeats most of its sentences; among all hits when none of those answers."""
        if latest and hits and hits[0].article.published:
            kept = [i for i, h in enumerate(hits) if h.article.id == hits[0].article.id]
            pick = self.picker.pick(snapshot, query, [hits[i] for i in kept], question)
            if pick is not None:
                return replace(pick, index=kept[pick.index])
        return self.picker.pick(snapshot, query, hits, question)

    def ask(
        self,
        question: str,
        top_k: int = 5,
        filters: Filters | None = None,
        resolved: str | None = None,
        snapshot: CorpusView | None = None,
        *,
        as_of: date | None = None,
        inherited: TimeWindow | None = None,
    ) -> Answer:
        """Return the answer to ``question`` with up to ``top_k`` citations in rank order,
        drawn only from articles that pass ``filters``. ``resolved`` is the text to retrieve
        with when it differs from the question (a follow-up read after the turn before);
        ``snapshot`` the corpus view to answer from (default: the current one).

        A period the question names ("last week", read against ``as_of``, default today),
        else the ``inherited`` one of the turn before, narrows the filters and is reported as
        ``time_window``; its words are not searched for. When the period and the date filters
        share no day, the answer is refused with ``period_empty``; when no article was
        published in it, the question is answered from every date with its words searched as
        written, and ``widened`` says so ("in 1974" may be history that later articles tell).
        "Latest", "now", "still"... prefer newer articles."""
        question = _checked(question, top_k, MAX_TOP_K)
        anchor = as_of or date.today()
        timed = read_time(question, anchor)
        window = timed.window or inherited
        try:
            narrowed = join_window(filters, window)
        except EmptyPeriod:
            return Answer(question, False, None, (), time_window=window, period_empty=True)
        searched = timed.topic if resolved is None else read_time(resolved, anchor).topic
        found = self.retrieve(
            searched, top_k, narrowed, snapshot, asked=question, latest=timed.latest
        )
        widened = not found.hits and window is not None
        if widened:
            found = self.retrieve(
                resolved or question, top_k, filters, snapshot, asked=question, latest=timed.latest
            )
        hits = found.hits[:top_k]
        answered = bool(hits) and (self.refusal is None or self.refusal.answers(found.features))
        # "What does CPEC stand for?": an article that spells the acronym out answers it,
        # however its cosines look to the refusal model, so such a question is picked for even
        # when refused.
        expansion = answer_type(question) is EXPANSION
        picked = found.pick
        if picked is None and hits and (answered or expansion):
            picked = self._pick(found.snapshot, found.query, hits, question, found.latest)
        if not answered and picked is not None:
            answered = expansion and picked.span is not None
        if not answered:
            picked = None
        citations = tuple(
            Citation(
                rank=i + 1,
                hit=hit,
                highlight=picked.sentence if picked is not None and picked.index == i else None,
                also_in=found.also_in.get(hit.article.id, ()),
            )
            for i, hit in enumerate(hits)
        )
        if picked is None:
            return Answer(question, False, None, citations, time_window=window, widened=widened)
        return Answer(
            question=question,
            answered=True,
            text=quoted(picked.sentence.text, rank=picked.index + 1),
            citations=citations,
            span=picked.span,
            time_window=window,
            widened=widened,
        )


def quoted(sentence: str, rank: int) -> str:
    """The answer as shown: the quoted sentence and the marker of the citation it comes from."""
    return f"{sentence} [{rank}]"


def _checked(question: str, k: int, max_k: int) -> str:
    """Return the stripped question; raises ``QuestionError`` if it or ``k`` is unusable."""
    question = question.strip()
    if not question:
        raise QuestionError("the question is empty")
    if not 1 <= k <= max_k:
        raise QuestionError(f"k must be between 1 and {max_k}, got {k}")
    return question
