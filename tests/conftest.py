"""Shared fixtures: a fake embedder, a five-article corpus, an app client, the real model."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from index.corpus import Corpus
from index.embed import Embedder
from index.models import Article
from service.services import build_services
from service.settings import Settings
from tests.engines import database_url, postgres, postgres_url  # noqa: F401  (fixtures)
from tests.fakes import FakeEmbedder
from tests.milvus_server import milvus_collection, milvus_server  # noqa: F401  (fixtures)

SEED = (
    Path(__file__).parents[1]
    / "index"
    / "default_corpus"
    / ("diplomat-china-pakistan-ties-under-pressure.txt")
)

FIVE_ARTICLES = [
    Article(
        id="volcano",
        title="Volcano erupts in Iceland",
        text="A volcano erupted near Grindavik on Monday. Lava flowed toward the town.\n\n"
        "Residents were evacuated by the civil protection agency before the eruption.",
        author="Ann Lee",
        outlet="Nordic Times",
    ),
    Article(
        id="chess",
        title="Chess final ends in a draw",
        text="The world chess final ended in a draw after six hours of play.",
        outlet="Board Weekly",
    ),
    Article(
        id="bread",
        title="How sourdough rises",
        text="Sourdough bread rises because wild yeast ferments the flour and releases gas.",
    ),
    Article(
        id="rail",
        title="New rail line opens",
        text="The new rail line between the two cities opened on Friday with twelve daily trains.",
    ),
    Article(
        id="bees",
        title="Bees and pesticides",
        text="Researchers found that bees exposed to pesticides forage less and lose their way.",
    ),
]


def write_beir(
    folder: Path,
    docs: Sequence[tuple[str, str, str]],
    queries: Sequence[tuple[str, str]],
    qrels: Sequence[tuple[str, str]],
) -> Path:
    """Write a BEIR-layout dataset: ``docs`` as (id, title, text), ``queries`` as (id, text)
    in the test split, ``qrels`` as (query id, corpus id) judged relevant."""
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs)
    )
    (folder / "queries_test.jsonl").write_text(
        "".join(json.dumps({"_id": i, "text": x}) + "\n" for i, x in queries)
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in qrels)
    )
    return folder


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus(tmp_path: Path, embedder: FakeEmbedder) -> Iterator[Corpus]:
    """A corpus of five short articles (one passage each but the first) on disk."""
    c = Corpus(tmp_path / "data", embedder.name, embedder.dimension)
    c.add_articles(FIVE_ARTICLES, embedder)
    yield c
    c.close()


def make_client(settings: Settings, embedder: Embedder) -> TestClient:
    return TestClient(create_app(settings, lambda s: build_services(s, embedder=embedder)))


@pytest.fixture
def client(tmp_path: Path, embedder: FakeEmbedder) -> Iterator[TestClient]:
    """The app on the default corpus, with the fake embedder."""
    # The fake embedder's cosines run lower than the real model's, so the calibrated threshold
    # stored with the index is overridden for its scale; the answer model (a real model, with
    # tests of its own) is off, so the answers follow from the fake vectors alone.
    settings = Settings(data_dir=tmp_path / "data", refusal_threshold=0.05, answer_model=False)
    with make_client(settings, embedder) as c:
        yield c


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once per session."""
    from index.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


# What a test needs, read from the fixtures it uses: `pytest -m "not postgres"` and the quick
# tier (`make test-quick`) leave out what a machine lacks without listing tests by hand.
_NEEDS = {
    "postgres": "postgres",
    "postgres_url": "postgres",
    "milvus_server": "milvus",
    "milvus_collection": "milvus",
    "real_embedder": "model",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            names.add("postgres")
        for fixture, marker in _NEEDS.items():
            if fixture in names:
                item.add_marker(marker)
