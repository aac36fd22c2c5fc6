"""Follow-up questions read after the turn before them."""

from __future__ import annotations

from index.lexical import TermStatistics
from index.text import content_terms

MAX_CONTEXT_CHARS = 400


def resolve_followup(
    question: str, previous: str | None, lexical: TermStatistics, min_specificity: float
) -> str:
    """The text to retrieve with: the question alone when it is specific enough (or nothing
    came before), else the question read after ``previous``, the turn before's resolved query.

    Specificity is the summed IDF of the question's content words that the corpus holds
    (pronouns and other function words left out, however rare a small corpus makes them): a
    follow-up such as "What did he say about it?" names nothing the corpus can pin down, so on
    its own it would retrieve at random; the earlier question supplies the subject.
    """
    if previous is None:
        return question
    specificity = sum(lexical.idf(t) for t in set(content_terms(question)))
    if specificity >= min_specificity:
        return question
    # The earlier turn may itself carry context; keep its end so long chats stay short.
    return f"{previous[-MAX_CONTEXT_CHARS:]} {question}"
