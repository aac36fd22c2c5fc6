"""The one word tokenizer of the project: lexical search, term overlap and evaluation all use it."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Return the lowercased, stemmed words of ``text``, less Lucene's English stopwords."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
    return list(_stemmer().stemWords(words))
