"""The answering pipeline: retrieve, decide whether the corpus answers, pick the sentence, cite."""

from __future__ import annotations

from dataclasses import dataclass

from index.corpus import Corpus
from index.view import CorpusView
from qa.answertype import EXPANSION, answer_type
from qa.errors import QuestionError
from qa.extract import SentencePicker
from qa.models import Answer, Citation, Filters, Hit
from qa.refusal import RefusalModel, refusal_features
from qa.retrieve import Method, Query, Retriever

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


class Answerer:
    """Answers a question with a sentence quoted from the corpus, or refuses when nothing fits.

    Without a ``refusal`` model every question with any hit is answered.
    """

    def __init__(
        self,
        corpus: Corpus,
        retriever: Retriever,
        picker: SentencePicker | None = None,
        refusal: RefusalModel | None = None,
    ) -> None:
        self.corpus = corpus
        self.retriever = retriever
        self.picker = picker or SentencePicker()
        self.refusal = refusal

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
    ) -> Retrieval:
        """Retrieve for ``question`` and compute the refusal signals, on ``snapshot`` if given
        (a caller that already holds one), else on the corpus's current one."""
        question = _checked(question, top_k, MAX_TOP_K)
        snapshot = snapshot or self.corpus.snapshot
        query = self.retriever.encode(question)
        hits = self.retriever.search(snapshot, query, max(top_k, MIN_POOL), filters=filters)
        return Retrieval(snapshot, query, hits, refusal_features(snapshot, query, hits))

    def ask(
        self,
        question: str,
        top_k: int = 5,
        filters: Filters | None = None,
        resolved: str | None = None,
        snapshot: CorpusView | None = None,
    ) -> Answer:
        """Return the answer to ``question`` with up to ``top_k`` citations in rank order,
        drawn only from articles that pass ``filters``. ``resolved`` is the text to retrieve
        with when it differs from the question (a follow-up read after the turn before);
        ``snapshot`` the corpus view to answer from (default: the current one)."""
        question = _checked(question, top_k, MAX_TOP_K)
        found = self.retrieve(resolved or question, top_k, filters, snapshot)
        hits = found.hits[:top_k]
        answered = bool(hits) and (self.refusal is None or self.refusal.answers(found.features))
        # "What does CPEC stand for?": an article that spells the acronym out answers it,
        # however its cosines look to the refusal model, so such a question is picked for even
        # when refused.
        expansion = answer_type(question) is EXPANSION
        picked = (
            self.picker.pick(found.snapshot, found.query, hits, question)
            if hits and (answered or expansion)
            else None
        )
        if not answered and picked is not None:
            answered = picked.span is not None
        if not answered:
            picked = None
        citations = tuple(
            Citation(
                rank=i + 1,
                hit=hit,
                highlight=picked.sentence if picked is not None and picked.index == i else None,
            )
            for i, hit in enumerate(hits)
        )
        if picked is None:
            return Answer(question=question, answered=False, text=None, citations=citations)
        return Answer(
            question=question,
            answered=True,
            text=quoted(picked.sentence.text, rank=picked.index + 1),
            citations=citations,
            span=picked.span,
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
