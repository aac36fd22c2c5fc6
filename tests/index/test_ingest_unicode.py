"""Ingestion of arbitrary Unicode: every record is stored whole or refused with a reason, never a
crash, and what is stored reads back with its offsets intact."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.corpus import Corpus
from index.errors import InvalidArticleError
from index.sources import article_from_record
from tests.fakes import FakeEmbedder

# Any code point, surrogates and control characters included, with plenty of the characters
# that trip text handling: line and paragraph separators, NUL, bidi controls, combining marks.
_ANY = st.characters(codec=None, exclude_categories=())
_TRICKY = st.sampled_from(
    ["\u2028", "\u2029", "\x85", "\x00", "\u202e", "\u0301", "\r\n", ". ", "\n\n", "Dr. ", "..."]
)
_TEXT = st.lists(st.one_of(_ANY, _TRICKY), max_size=200).map("".join)


def test_any_unicode_is_stored_whole_or_refused(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    corpus = Corpus(tmp_path, embedder.name, embedder.dimension, refresh_seconds=0)
    ids = (f"a{i}" for i in itertools.count())
    outcomes = {"stored": 0, "refused": 0}

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(title=_TEXT, text=_TEXT, author=st.one_of(st.none(), _TEXT))
    def ingest(title: str, text: str, author: str | None) -> None:
        article_id = next(ids)
        try:
            article = article_from_record(
                {"id": article_id, "title": title, "text": text, "author": author}
            )
        except InvalidArticleError as exc:
            assert str(exc)  # refused, with a reason
            outcomes["refused"] += 1
            return
        report = corpus.add_articles([article], embedder)
        if report.failed:
            assert all(reason for _, reason in report.failed)
            outcomes["refused"] += 1
            return
        outcomes["stored"] += 1
        stored = corpus.get_article(article_id)
        assert stored.text == article.text
        stored.text.encode("utf-8")  # valid Unicode, as the database holds it
        for _, passage in corpus.snapshot.iter_passages():
            if passage.article_id == article_id:
                assert stored.text[passage.start : passage.end] == passage.text
                for sentence in passage.sentences:
                    assert stored.text[sentence.start : sentence.end] == sentence.text

    ingest()
    corpus.close()
    # Both ways were taken: the examples reach the store, not only the refusals.
    assert outcomes["stored"] > 20 and outcomes["refused"] > 5, outcomes
