"""Acronyms the corpus spells out, and lexical search finding either form."""

from __future__ import annotations

from pathlib import Path

from index.acronyms import definitions, initials
from index.corpus import Corpus, IndexConfig
from index.models import Article
from index.text import tokenize
from qa.retrieve import Retriever
from tests.fakes import FakeEmbedder


def spelled(text: str) -> list[tuple[str, str]]:
    return [(d.acronym, text[d.start : d.end]) for d in definitions(text)]


def test_definitions_in_either_order_and_only_when_the_initials_spell_it() -> None:
    text = (
        "Workers on the China-Pakistan Economic Corridor (CPEC) were attacked; the BLA "
        "(Balochistan Liberation Army) and the Tehreek-e-Taliban Pakistan (TTP) were blamed. "
        "The Chinese (PRC) embassy and the council (Ab) said nothing."
    )
    assert spelled(text) == [
        ("CPEC", "China-Pakistan Economic Corridor"),
        ("TTP", "Tehreek-e-Taliban Pakistan"),
        ("BLA", "Balochistan Liberation Army"),
    ]
    # Small words may sit between the initials; a hyphenated name's particles are no initials.
    assert spelled("the Bank for International Settlements (BIS) said") == [
        ("BIS", "Bank for International Settlements")
    ]
    assert initials(["Tehreek-e-Taliban", "Pakistan"]) == "TTP"


def test_search_finds_the_other_form_of_an_acronym(tmp_path: Path, embedder: FakeEmbedder):
    articles = [
        Article(
            id="defines",
            title="Corridor",
            text="The China-Pakistan Economic Corridor (CPEC) links Kashgar and Gwadar.",
        ),
        Article(id="short", title="Attacks", text="Engineers working on CPEC were attacked."),
        Article(id="other", title="Weather", text="Rain fell on the corridor roads today."),
    ]
    corpus = Corpus(tmp_path / "d", embedder.name, embedder.dimension, IndexConfig(min_chars=0))
    corpus.add_articles(articles, embedder)
    snapshot = corpus.snapshot
    assert snapshot.acronyms == {"cpec": tuple(tokenize("China Pakistan Economic Corridor"))}
    spelled_out = tokenize("who was attacked on the economic corridor of china and pakistan")
    assert "cpec" in snapshot.with_acronyms(spelled_out)
    assert "corridor" in snapshot.with_acronyms(tokenize("CPEC attacks"))
    assert snapshot.with_acronyms(tokenize("rain today")) == tuple(tokenize("rain today"))

    question = "engineers attacked on the Economic Corridor of China and Pakistan"
    bm25 = Retriever(embedder, method="bm25")
    plain = Retriever(embedder, method="bm25", acronyms=False)
    found = {h.article.id for h in bm25.search(snapshot, bm25.encode(question), 3)}
    missed = {h.article.id for h in plain.search(snapshot, plain.encode(question), 3)}
    assert "short" in found and "short" in missed  # "engineers attacked" alone finds it ...
    hits = bm25.search(snapshot, bm25.encode(question), 3)
    plain_hits = plain.search(snapshot, plain.encode(question), 3)
    score = {h.article.id: h.lexical for h in hits}
    plain_score = {h.article.id: h.lexical for h in plain_hits}
    assert score["short"] > plain_score["short"]  # ... and "CPEC" now counts too

    # A deleted article's definitions go with it.
    corpus.delete_article("defines")
    assert corpus.snapshot.acronyms == {}
    corpus.close()
