"""The answering pipeline: retrieve, pick the best sentence, decide whether it answers, cite."""

from __future__ import annotations

from index.corpus import Corpus
from qa.errors import QuestionError
from qa.extract import SentencePicker
from qa.models import Answer, Citation, Hit
from qa.retrieve import Retriever

MAX_TOP_K = 50
MAX_SEARCH_K = 1000


class Answerer:
    """Answers a question with a sentence quoted from the corpus, or refuses when nothing fits.

    ``min_score`` is the passage score under which the best passage is taken not to answer.
    """

    def __init__(
        self,
        corpus: Corpus,
        retriever: Retriever,
        picker: SentencePicker | None = None,
        min_score: float = 0.35,
    ) -> None:
        self.corpus = corpus
        self.retriever = retriever
        self.picker = picker or SentencePicker()
        self.min_score = min_score

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """Return the ``k`` passages ranked best for ``query``, with no answer logic."""
        query = _checked(query, k, MAX_SEARCH_K)
        return self.retriever.search(self.corpus.snapshot, self.retriever.encode(query), k)

    def ask(self, question: str, top_k: int = 5) -> Answer:
        """Return the answer to ``question`` with up to ``top_k`` citations in rank order."""
        question = _checked(question, top_k, MAX_TOP_K)
        snapshot = self.corpus.snapshot
        query = self.retriever.encode(question)
        hits = self.retriever.search(snapshot, query, top_k)
        answered = bool(hits) and hits[0].score >= self.min_score
        picked = self.picker.pick(snapshot, question, query, hits) if answered else None
        citations = tuple(
            Citation(
                rank=i + 1,
                hit=hit,
                highlight=picked[1] if picked is not None and picked[0] == i else None,
            )
            for i, hit in enumerate(hits)
        )
        if picked is None:
            return Answer(question=question, answered=False, text=None, citations=citations)
        index, sentence = picked
        return Answer(
            question=question,
            answered=True,
            text=f"{sentence.text} [{index + 1}]",
            citations=citations,
        )


def _checked(question: str, k: int, max_k: int) -> str:
    """Return the stripped question; raises ``QuestionError`` if it or ``k`` is unusable."""
    question = question.strip()
    if not question:
        raise QuestionError("the question is empty")
    if not 1 <= k <= max_k:
        raise QuestionError(f"k must be between 1 and {max_k}, got {k}")
    return question
