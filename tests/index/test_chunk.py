"""Chunking keeps whole sentences and exact offsets into the article text."""

from __future__ import annotations

import itertools
import random
import time
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunk import chunk_article, split_sentences
from index.clean import clean_page
from index.models import Article
from tests.conftest import FIVE_ARTICLES, SEED


def assert_offsets_hold(article: Article, max_chars: int = 800, min_chars: int = 120) -> None:
    for passage in chunk_article(article, max_chars, min_chars):
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
    assert_offsets_hold(article, 400, 50)


def test_tiny_paragraphs_are_merged() -> None:
    article = Article(id="t", title="T", text="Short one.\n\nShort two.\n\n" + "Long enough. " * 20)
    passages = chunk_article(article, max_chars=800, min_chars=40)
    assert passages[0].text.startswith("Short one.\n\nShort two.")
    assert_offsets_hold(article, 800, 40)


def test_over_long_sentence_is_split_at_whitespace() -> None:
    words = " ".join(f"word{i}" for i in range(400))  # ~3,500 characters, no sentence end
    article = Article(id="run-on", title="Run-on", text=f"{words}. Short end.")
    passages = chunk_article(article, max_chars=300, min_chars=50)
    assert len(passages) > 1
    assert all(len(p.text) <= 300 for p in passages)
    # Cut between words, never inside one.
    pieces = [s.text for p in passages for s in p.sentences]
    assert " ".join(pieces).split() == article.text.split()
    assert_offsets_hold(article, 300, 50)


@pytest.mark.parametrize(
    "text",
    [
        "中文新闻报道没有英文标点符号" * 300,  # CJK without ASCII sentence ends
        "x" * 5_000,  # one token with no whitespace at all
        "." * 5_000,
        "e\u0301" * 2_000,  # combining marks: a hard cut keeps each with its letter
    ],
    ids=["cjk", "one-token", "dots", "combining"],
)
def test_text_without_sentence_ends_is_cut_at_the_cap(text: str) -> None:
    article = Article(id="cap", title="Cap", text=text)
    passages = chunk_article(article, max_chars=200, min_chars=20)
    assert len(passages) >= len(text) // 200
    assert all(0 < len(p.text) <= 200 for p in passages)
    assert "".join(p.text for p in passages) == text
    assert all(not unicodedata.combining(p.text[0]) for p in passages)
    assert_offsets_hold(article, 200, 20)


# Pieces that exercise the sentence and paragraph rules: ends, abbreviations, initials, quotes,
# runs of punctuation and whitespace, CJK text, combining marks and Unicode spaces.
_FRAGMENTS = st.sampled_from(
    [
        "The",
        "word",
        "Dr.",
        "U.S.",
        "A.",
        "e.g.",
        "5",
        ".",
        "...",
        "!?",
        "”",
        "“",
        ")",
        "'",
        " ",
        "  ",
        "\t",
        "\n",
        "\n\n",
        "\n \n",
        "\u00a0",
        "\u3000",
        "中文新闻",
        "。",
        "e\u0301",
    ]
)
_TEXTS = st.one_of(
    st.lists(_FRAGMENTS, max_size=300).map("".join),
    st.text(max_size=600),
)


def _non_space(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS, max_chars=st.integers(1, 300), min_share=st.floats(0, 1))
def test_chunking_properties(text: str, max_chars: int, min_share: float) -> None:
    article = Article(id="p", title="P", text=text)
    min_chars = int(max_chars * min_share)
    passages = chunk_article(article, max_chars, min_chars)
    for passage in passages:
        assert 0 < len(passage.text) <= max_chars
    assert_offsets_hold(article, max_chars, min_chars)
    # Passages are in order, do not overlap, and hold every non-whitespace character once.
    assert all(a.end <= b.start for a, b in itertools.pairwise(passages))
    assert "".join(_non_space(p.text) for p in passages) == _non_space(text)


def _best_seconds(texts: list[str], rounds: int = 7) -> list[float]:
    """The best of a few timings of chunking each text, the texts taking turns so that a busy
    spell of the machine slows them alike (fewer rounds only when one is slow even at its best,
    as quadratic work would be)."""
    articles = [Article(id="t", title="T", text=text) for text in texts]
    best = [float("inf")] * len(articles)
    for _ in range(rounds):
        for i, article in enumerate(articles):
            began = time.perf_counter()
            chunk_article(article)
            best[i] = min(best[i], time.perf_counter() - began)
        if max(best) > 2.0:
            break
    return best


def _mixed(n: int) -> str:
    rng = random.Random(n)
    parts = ["Dr. ", "U.S. ", "A. ", "word ", ". ", "...", "!? ", "\n", "\n\n", "中文。", "“Q.” "]
    return "".join(rng.choice(parts) for _ in range(n))[:n]


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "." * n,
        lambda n: ("A. " * n)[:n],
        lambda n: " " * n,
        lambda n: ("word " * n)[:n],
        lambda n: ("中文新闻报道" * n)[:n],
        lambda n: ("\n \t" * n)[:n],
        _mixed,
    ],
    ids=["dots", "initials", "spaces", "one-line", "cjk", "blank-lines", "mixed"],
)
def test_chunking_time_grows_linearly(make: Callable[[int], str]) -> None:
    # Large enough that scheduler noise on a busy machine is small beside the work.
    n = 50_000
    small, large = _best_seconds([make(n), make(4 * n)])
    # Linear work grows about 4x; quadratic, 16x. The floor keeps timer noise on tiny times out.
    assert large <= 8 * max(small, 0.005), f"{small:.4f}s at {n} chars, {large:.4f}s at {4 * n}"


def test_the_sentences_that_get_a_vector_are_capped_per_passage() -> None:
    # 50,000 one-word sentences, 250,000 characters: each had a vector of its own (65 s of the
    # model at ingest); a passage of more than MAX_SENTENCES is now one sentence to the model.
    from index.chunk import MAX_SENTENCES
    from index.models import Article

    text = " ".join(f"W{i % 10}x." for i in range(50_000))
    passages = chunk_article(Article(id="a", title="T", text=text))
    assert all(1 <= len(p.sentences) <= MAX_SENTENCES for p in passages)
    assert sum(len(p.sentences) for p in passages) <= len(passages) * MAX_SENTENCES
    for p in passages:  # the merged sentences still cover the passage, in order, with offsets
        assert p.sentences[0].start == p.start and p.sentences[-1].end == p.end
        assert all(s.text == text[s.start : s.end] for s in p.sentences)
        assert all(a.end <= b.start for a, b in itertools.pairwise(p.sentences))


def test_prose_keeps_one_vector_per_sentence() -> None:
    from index.chunk import MAX_SENTENCES
    from index.models import Article

    sentences = [f"Officials in town {i} said the reef bleached in March." for i in range(40)]
    passages = chunk_article(Article(id="a", title="T", text=" ".join(sentences)))
    assert sum(len(p.sentences) for p in passages) == 40
    assert max(len(p.sentences) for p in passages) <= MAX_SENTENCES
