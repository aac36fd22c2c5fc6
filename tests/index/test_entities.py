"""Named entities tagged at ingest, stored with their passages in article offsets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from index.corpus import TAGGER_KEY, Corpus
from index.models import Article
from tests.fakes import FakeEmbedder, FakeTagger

ARTICLE = Article(
    id="envoy",
    title="Envoy",
    text="Opening words here.\n\nThe envoy Jiang Zaidong spoke twice in 6 months, said Ishaq Dar.",
)


def entities_of(corpus: Corpus) -> list[tuple[str, str]]:
    return [
        (ARTICLE.text[e.start : e.end], e.label)
        for _, passage in corpus.snapshot.iter_passages()
        for e in passage.entities
    ]


def test_entities_are_stored_in_article_offsets_and_read_back(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    corpus = Corpus(
        tmp_path, embedder.name, embedder.dimension, refresh_seconds=0, tagger=FakeTagger()
    )
    corpus.add_articles([ARTICLE], embedder)
    found = entities_of(corpus)
    assert ("Jiang Zaidong", "PERSON") in found and ("6", "CARDINAL") in found
    assert ("Ishaq Dar", "PERSON") in found
    corpus.close()
    # From the checkpoint, and from the database alone.
    again = Corpus(tmp_path, embedder.name, embedder.dimension, refresh_seconds=0)
    assert entities_of(again) == found
    again.close()
    for path in (tmp_path / "segments").glob("*"):
        path.unlink()
    rebuilt = Corpus(tmp_path, embedder.name, embedder.dimension, refresh_seconds=0)
    assert entities_of(rebuilt) == found
    rebuilt.close()


def test_without_a_tagger_passages_have_no_entities(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    corpus = Corpus(tmp_path, embedder.name, embedder.dimension, refresh_seconds=0)
    corpus.add_articles([ARTICLE], embedder)
    assert entities_of(corpus) == []
    corpus.close()


def test_the_corpus_records_its_tagger_and_warns_of_another(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    embedder = FakeEmbedder()
    corpus = Corpus(
        tmp_path, embedder.name, embedder.dimension, refresh_seconds=0, tagger=FakeTagger()
    )
    corpus.add_articles([ARTICLE], embedder)
    assert corpus.db.get_meta(TAGGER_KEY) == "fake-capitals"
    corpus.close()

    class OtherTagger(FakeTagger):
        name = "fake-other"

    with caplog.at_level(logging.WARNING, logger="index.corpus"):
        other = Corpus(
            tmp_path, embedder.name, embedder.dimension, refresh_seconds=0, tagger=OtherTagger()
        )
    assert "tagged by fake-capitals, new ones by fake-other" in caplog.text
    other.reindex(embedder)  # re-tags every passage: the record follows
    assert other.db.get_meta(TAGGER_KEY) == "fake-other"
    other.close()


@pytest.mark.slow
def test_spacy_tags_people_and_numbers_with_exact_offsets() -> None:
    from index.entities import spacy_tagger

    text = (
        "China's ambassador to Pakistan, Jiang Zaidong, said Chinese nationals were attacked twice."
    )
    (entities,) = spacy_tagger().tag([text])
    tagged = {(text[e.start : e.end], e.label) for e in entities}
    assert ("Jiang Zaidong", "PERSON") in tagged
    assert ("Pakistan", "GPE") in tagged
