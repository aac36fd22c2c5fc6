"""Filter values reach Milvus as literals, whatever they hold: quotes, backslashes, LIKE
wildcards, line breaks and other control characters, or text no store can hold. Both backends
return the same passages for every value, and no value fails a search or shows in an error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.corpus import Corpus
from index.milvus import MilvusError
from index.milvus_corpus import MilvusCorpus
from index.models import Article, Where
from index.view import CorpusView
from tests.conftest import FIVE_ARTICLES
from tests.fakes import FakeEmbedder
from tests.milvus_server import MilvusServer

# Bylines and outlets as a hostile or unlucky source may write them.
ODD = [
    ("quote", 'Dee "Q" O\'Neil', 'The "Daily" Post'),
    ("backslash", "Back\\Slash", "C:\\News"),
    ("wildcards", "50% _off_", "100%_Pure"),
    ("escapes", "Tab\tLine\\nBreak", "Ctrl\x01\x7fChars"),
]
ARTICLES = [
    *FIVE_ARTICLES,
    *(
        Article(
            id=i,
            title=f"Odd byline {i}",
            text=f"A story about {i} written by {a}.",
            author=a,
            outlet=o,
        )
        for i, a, o in ODD
    ),
]
KNOWN = sorted(
    {v for a in ARTICLES for v in (a.id, a.author or "", a.outlet or "") if v}
    | {"\\", "\\\\", "%", "_", '"', "'", "\\n", "\t"}
)
VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(KNOWN),
    st.builds(
        lambda v, i, j: v[i:j], st.sampled_from(KNOWN), st.integers(0, 8), st.integers(0, 20)
    ),
    st.builds(lambda a, b: a + b, st.sampled_from(KNOWN), st.text(max_size=3)),
)


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, milvus_server: MilvusServer
) -> Iterator[tuple[Corpus, MilvusCorpus]]:
    root: Path = tmp_path_factory.mktemp("filters")
    embedder = FakeEmbedder()
    faiss = Corpus(root / "faiss", embedder.name, embedder.dimension, refresh_seconds=0)
    milvus = MilvusCorpus(
        root / "milvus",
        embedder.name,
        embedder.dimension,
        milvus_uri=milvus_server.uri,
        collection="t_filters",
        refresh_seconds=0,
    )
    for corpus in (faiss, milvus):
        report = corpus.add_articles(ARTICLES, embedder)
        assert not report.failed, report.failed
    yield faiss, milvus
    faiss.close()
    milvus.collection.drop()
    milvus.close()


def found(view: CorpusView, where: Where) -> set[str]:
    """The passages a dense and a lexical search over every passage return."""
    embedder = FakeEmbedder()
    vector = embedder.embed_query("a story written by")
    got = view.candidates(vector, "", ["stori", "written"], pool=100, where=where)
    return {view.passage(int(p)).id for p in got.positions}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(["outlet", "author", "article_ids"]), value=VALUES)
@example(field="outlet", value="a\nb")
@example(field="author", value="a\r\nb")
@example(field="article_ids", value='x"]\nor id > 0 or article_id in ["')
@example(field="author", value="back\\slash")
@example(field="author", value="\\")
@example(field="outlet", value="c:\\news")
@example(field="author", value="\ud800")
@example(field="article_ids", value="volcano\x00")
def test_every_filter_value_gives_the_same_passages_on_both_backends(
    pair: tuple[Corpus, MilvusCorpus], field: str, value: str
) -> None:
    faiss, milvus = pair
    where = (
        Where(article_ids=frozenset({value})) if field == "article_ids" else Where(**{field: value})
    )
    assert found(milvus.snapshot, where) == found(faiss.snapshot, where)


def test_filters_on_odd_bylines_find_their_articles(pair: tuple[Corpus, MilvusCorpus]) -> None:
    faiss, milvus = pair
    for _, author, outlet in ODD:
        for where in (Where(author=author), Where(outlet=outlet), Where(author=author[2:5])):
            expected = found(faiss.snapshot, where)
            assert expected and found(milvus.snapshot, where) == expected


def test_a_failed_milvus_request_names_neither_the_server_nor_the_expression(
    pair: tuple[Corpus, MilvusCorpus], milvus_server: MilvusServer
) -> None:
    _, milvus = pair
    condition = 'outlet == "secret-outlet"'
    with pytest.raises(MilvusError) as caught:
        milvus.collection._call(
            "search vectors",
            "search",
            "no_such_collection",
            data=[np.zeros(FakeEmbedder.dimension, dtype=np.float32).tolist()],
            anns_field="vector",
            limit=1,
            filter=condition,
        )
    message = str(caught.value)
    assert milvus_server.uri not in message
    assert str(milvus_server.port) not in message
    assert "secret-outlet" not in message
    assert message == "Milvus failed to search vectors"
