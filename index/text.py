"""The one word tokenizer of the project: lexical search, term overlap and evaluation all use it."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_EN_PLUS

_WORD = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)
# The longer list (pronouns, auxiliaries, "about"...) for judging what a question names; the
# index keeps Lucene's short one, so phrases such as "who he is" stay searchable.
_FUNCTION_WORDS = frozenset(STOPWORDS_EN_PLUS)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def _stemmed(text: str, stopwords: frozenset[str]) -> list[str]:
    words = [w for w in _WORD.findall(text.lower()) if w not in stopwords]
    return list(_stemmer().stemWords(words))


def tokenize(text: str) -> list[str]:
    """Return the lowercased, stemmed words of ``text``, less Lucene's English stopwords."""
    return _stemmed(text, _STOPWORDS)


def content_terms(text: str) -> list[str]:
    """``tokenize``'s terms of the words that name something: pronouns, auxiliaries and other
    function words (bm25s's longer English list) left out."""
    return _stemmed(text, _FUNCTION_WORDS)
