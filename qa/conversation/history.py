"""Stored turns read back through the corpus: each citation as its article now has it, or removed.

A turn stores references, not text (``store.py``). Reading it back, a citation whose article is
gone, or whose stored offsets no longer hold the text that was quoted (the article was replaced),
comes back removed, and an answer quoted from a removed citation is withheld: what was deleted
from the corpus is not quoted from the conversations either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.errors import ArticleNotFoundError
from index.models import Article
from qa.answer import quoted
from qa.articles import ArticleSource
from qa.conversation.models import AnswerRef, CitationRef, StoredTurn, quote_hash


@dataclass(frozen=True)
class HistoryCitation:
    """A stored citation and the article that still holds its passage (None: removed)."""

    ref: CitationRef
    article: Article | None

    @property
    def removed(self) -> bool:
        """True when the article is gone or no longer holds the quoted passage."""
        return self.article is None

    @property
    def text(self) -> str | None:
        """The passage text, or None when removed."""
        return None if self.article is None else self.article.text[self.ref.start : self.ref.end]


@dataclass(frozen=True)
class HistoryTurn:
    """A stored turn with its citations resolved and its answer sentence, if it can be quoted."""

    stored: StoredTurn
    citations: tuple[HistoryCitation, ...]
    sentence: str | None  # the answer sentence; None when refused or withheld
    answer_removed: bool  # answered from a passage the corpus no longer holds: withheld
    span: str | None = None  # the exact answer inside the sentence, when there was one

    @property
    def answer(self) -> str | None:
        """The answer as it was shown (sentence and citation marker), or None."""
        ref = self.stored.turn.answer
        if self.sentence is None or ref is None:
            return None
        return quoted(self.sentence, ref.rank)


def resolve_turns(turns: Sequence[StoredTurn], articles: ArticleSource) -> list[HistoryTurn]:
    """The turns with every reference checked against the articles as they are now.

    Each article is read once, however many citations name it.
    """
    found: dict[str, Article | None] = {}

    def article(article_id: str) -> Article | None:
        if article_id not in found:
            try:
                found[article_id] = articles.get_article(article_id)
            except ArticleNotFoundError:
                found[article_id] = None
        return found[article_id]

    out = []
    for stored in turns:
        citations = tuple(_resolve(ref, article(ref.article_id)) for ref in stored.turn.citations)
        answer = stored.turn.answer
        quoted_from = _quoted_article(answer, citations)
        sentence = span = None
        if answer is not None and quoted_from is not None:
            sentence = quoted_from.text[answer.start : answer.end]
            if (
                answer.span is not None
                and answer.start <= answer.span[0] <= answer.span[1] <= answer.end
            ):
                span = quoted_from.text[answer.span[0] : answer.span[1]]
        out.append(
            HistoryTurn(
                stored=stored,
                citations=citations,
                sentence=sentence,
                answer_removed=stored.turn.answered and sentence is None,
                span=span,
            )
        )
    return out


def _resolve(ref: CitationRef, article: Article | None) -> HistoryCitation:
    """The citation, or it removed when the article's text at its offsets hashes otherwise."""
    if article is None or quote_hash(article.text[ref.start : ref.end]) != ref.quote_hash:
        return HistoryCitation(ref, None)
    return HistoryCitation(ref, article)


def _quoted_article(
    answer: AnswerRef | None, citations: Sequence[HistoryCitation]
) -> Article | None:
    """The article of the citation the answer sentence quotes, if that citation is still there
    and its passage (whose hash was just checked) holds the sentence."""
    if answer is None:
        return None
    for citation in citations:
        if citation.ref.rank == answer.rank and citation.article is not None:
            ref = citation.ref
            if ref.start <= answer.start <= answer.end <= ref.end:
                return citation.article
    return None
