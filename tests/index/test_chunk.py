"""Chunking keeps whole sentences and exact offsets into the article text."""

from __future__ import annotations

from index.chunk import chunk_article, split_sentences
from index.clean import clean_page
from index.models import Article
from tests.conftest import FIVE_ARTICLES, SEED


def assert_offsets_hold(article: Article) -> None:
    for passage in chunk_article(article):
        assert article.text[passage.start : passage.end] == passage.text
        assert passage.sentences
        for sentence in passage.sentences:
            assert article.text[sentence.start : sentence.end] == sentence.text
            assert passage.start <= sentence.start < sentence.end <= passage.end


def test_offsets_invariant_on_seed_article() -> None:
    article = clean_page(SEED.read_text(encoding="utf-8"))
    assert_offsets_hold(article)
    passages = chunk_article(article)
    # Every body character outside paragraph breaks is in exactly one passage.
    covered = "".join(p.text for p in passages).replace("\n", "").replace(" ", "")
    assert covered == article.text.replace("\n", "").replace(" ", "")


def test_offsets_invariant_on_small_articles() -> None:
    for article in FIVE_ARTICLES:
        assert_offsets_hold(article)


def test_sentences_respect_abbreviations_and_quotes() -> None:
    text = "Dr. Smith met U.S. officials. “It went well.” He left at 5 p.m. on Monday. Done!"
    assert [s.text for s in split_sentences(text)] == [
        "Dr. Smith met U.S. officials.",
        "“It went well.”",
        "He left at 5 p.m. on Monday.",
        "Done!",
    ]


def test_long_paragraph_is_split_on_sentences() -> None:
    sentence = "This sentence is about forty characters. "
    article = Article(id="long", title="Long", text=(sentence * 60).strip())
    passages = chunk_article(article, max_chars=400, min_chars=50)
    assert len(passages) > 1
    assert all(len(p.text) <= 400 for p in passages)
    assert all(p.text.endswith(".") for p in passages)
    assert_offsets_hold(article)


def test_tiny_paragraphs_are_merged() -> None:
    article = Article(id="t", title="T", text="Short one.\n\nShort two.\n\n" + "Long enough. " * 20)
    passages = chunk_article(article, max_chars=800, min_chars=40)
    assert passages[0].text.startswith("Short one.\n\nShort two.")
    assert_offsets_hold(article)
