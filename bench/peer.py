"""A peer on the same work: our index beside txtai's ``Embeddings``, built from the same
passages with the same model, timed and scored in one run.

Both sides index the passages our chunker cuts from a BEIR corpus (SciFact by default), each
passage's indexed text as ingest makes it (``IndexConfig.indexed_text``: the title in front).
Ours goes through the real write path (``Corpus.add_articles`` into a temporary data directory,
then the merges the background thread would make) and the real read path (``Retriever``, dense
and hybrid); txtai gets the same texts through ``Embeddings.index`` with its defaults (FAISS
backend, no content store). The model alone encoding the same passages in one call is the floor
every build time is compared with; one query encoded alone is the floor for search latencies.
Quality is judged per abstract: the passages a search returns, in order, are reduced to their
abstracts, and recall@10 and nDCG@10 are read against the qrels as ``qa eval`` reads them.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import percentile
from evaluation.datasets import EvalQuery, load_beir
from evaluation.metrics import ndcg, recall
from index.arrays import Vectors
from index.config import IndexConfig, indexed_passages
from index.corpus import Corpus
from index.embed import Embedder
from index.models import Article
from index.view import CorpusView
from qa.retrieve import Method, Retriever, article_ranking

PEER_INSTALL = "pip install -e '.[peer]' (or `make bench-peer`)"
# Passages each search returns: enough to fill ten distinct abstracts (an abstract is two or
# three passages), the same for both sides.
DEFAULT_POOL = 100
METRIC_K = 10


@dataclass(frozen=True)
class Passages:
    """The texts both sides index, and the abstract each one comes from."""

    texts: list[str]
    article_ids: list[str]
    sentences: int  # how many sentences our side also embeds


def passages_of(articles: Sequence[Article], config: IndexConfig) -> Passages:
    """The passages ingest would cut from ``articles``, as the text it would embed."""
    texts: list[str] = []
    owners: list[str] = []
    sentences = 0
    for article, passage, text in indexed_passages(articles, config):
        texts.append(text)
        owners.append(article.id)
        sentences += len(passage.sentences)
    return Passages(texts, owners, sentences)


def abstract_ranking(positions: Iterable[int], article_ids: Sequence[str]) -> list[str]:
    """The abstracts of passages ranked best first, each once, in the order of its best
    passage (what ``article_ranking`` does for our hits, for txtai's passage positions)."""
    return list(dict.fromkeys(article_ids[p] for p in positions))


def judged_within(queries: Sequence[EvalQuery], kept: Iterable[str]) -> list[EvalQuery]:
    """The queries with a relevant abstract among ``kept``, judged by those alone (a corpus
    cut to its first N abstracts keeps only the judgements it can satisfy)."""
    ids = set(kept)
    out = []
    for query in queries:
        relevant = {doc: grade for doc, grade in query.relevant.items() if doc in ids}
        if relevant:
            out.append(EvalQuery(query.id, query.text, True, relevant))
    return out


def quality(
    rankings: Sequence[Sequence[str]], judged: Sequence[Mapping[str, int]], k: int = METRIC_K
) -> tuple[float, float]:
    """Mean recall@k and nDCG@k of abstract rankings against their judgements."""
    if len(rankings) != len(judged):
        raise ValueError(f"{len(rankings)} rankings for {len(judged)} judged queries")
    if not rankings:
        return 0.0, 0.0
    pairs = list(zip(rankings, judged, strict=True))
    return (
        statistics.fmean(recall(r, rel, k) for r, rel in pairs),
        statistics.fmean(ndcg(r, rel, k) for r, rel in pairs),
    )


class TimedEmbedder:
    """An embedder that times each ``embed_passages`` call it passes on. Ingest embeds each
    batch through ``embed_with_sentences``: the passages, then their sentences, so calls come
    in pairs and ``split()`` tells the two parts apart."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.calls: list[float] = []  # seconds of each call, in order

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        started = time.perf_counter()
        vectors = self.inner.embed_passages(texts)
        self.calls.append(time.perf_counter() - started)
        return vectors

    def embed_query(self, text: str) -> Vectors:
        return self.inner.embed_query(text)

    def split(self) -> tuple[float, float]:
        """Seconds spent embedding passages and sentences, from the calls in pairs."""
        if len(self.calls) % 2:
            raise ValueError(f"{len(self.calls)} embed calls: expected passage/sentence pairs")
        return sum(self.calls[0::2]), sum(self.calls[1::2])


@dataclass(frozen=True)
class Row:
    """One system's figures: build seconds (None when shared with the row above), search
    latencies in milliseconds, recall@10 and nDCG@10 per abstract."""

    name: str
    build_seconds: float | None
    search_ms: Sequence[float]
    recall_at_10: float
    ndcg_at_10: float


@dataclass
class PeerReport:
    """Everything one run measured, and the table it prints."""

    passages: int
    sentences: int
    articles: int
    queries: int
    pool: int
    floor_seconds: float  # the model encoding the passages in one call
    query_floor_ms: float  # median of one query encoded alone
    settings: dict[str, str] = field(default_factory=dict)
    build_parts: list[tuple[str, float]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def table(self) -> list[str]:
        """The figures as a Markdown table, each time also as a multiple of its floor."""

        def build(seconds: float | None) -> str:
            if seconds is None:
                return "(same index)"
            return f"{seconds:.1f} s ({seconds / self.floor_seconds:.2f}x)"

        def latency(ms: float) -> str:
            return f"{ms:.1f} ms ({ms / self.query_floor_ms:.2f}x)"

        lines = [
            "| system | build (x floor) | search p50 (x floor) | search p95 (x floor) "
            "| recall@10 | nDCG@10 |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| floor: the model alone | {self.floor_seconds:.1f} s (1.00x) | "
            f"{latency(self.query_floor_ms)} | | | |",
        ]
        for row in self.rows:
            lines.append(
                f"| {row.name} | {build(row.build_seconds)} | "
                f"{latency(percentile(row.search_ms, 50))} | "
                f"{latency(percentile(row.search_ms, 95))} | "
                f"{row.recall_at_10:.3f} | {row.ndcg_at_10:.3f} |"
            )
        lines.append("")
        lines.append(
            f"{self.articles} abstracts, {self.passages} passages ({self.sentences} sentences), "
            f"{self.queries} judged queries, {self.pool} passages per search."
        )
        lines.extend(
            f"ours, build: {name} {seconds:.1f} s ({seconds / self.floor_seconds:.2f}x)"
            for name, seconds in self.build_parts
        )
        lines.extend(f"{key}: {value}" for key, value in self.settings.items())
        return lines


def set_threads(threads: int) -> dict[str, str]:
    """Give torch (the model, both sides) and FAISS's OpenMP (both indexes) ``threads``
    threads; returns what each then reports."""
    import faiss
    import torch

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    return {
        "torch threads": str(torch.get_num_threads()),
        "faiss threads": str(faiss.omp_get_max_threads()),
    }


Search = Callable[[str], list[str]]  # question -> abstracts, best first


def interleaved_searches(
    searchers: Mapping[str, Search], queries: Sequence[EvalQuery], warm: int = 5
) -> dict[str, tuple[list[float], list[list[str]]]]:
    """Each query through every searcher in turn, the first searcher rotating from query to
    query, after ``warm`` untimed queries: per searcher, the milliseconds of each call and its
    rankings. On a shared machine a slower spell then falls on every side alike."""
    names = list(searchers)
    for query in queries[:warm]:
        for name in names:
            searchers[name](query.text)
    out: dict[str, tuple[list[float], list[list[str]]]] = {name: ([], []) for name in names}
    for i, query in enumerate(queries):
        shift = i % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            ranking = searchers[name](query.text)
            out[name][0].append((time.perf_counter() - started) * 1000)
            out[name][1].append(ranking)
    return out


def encode_floor(embedder: Embedder, passages: Passages) -> float:
    """Seconds for the model to encode every passage in one call (after a small warm-up)."""
    embedder.embed_passages(passages.texts[:64])
    started = time.perf_counter()
    embedder.embed_passages(passages.texts)
    return time.perf_counter() - started


def _sample_floor(embedder: Embedder, passages: Passages, count: int = 200) -> float:
    """Seconds for the model to encode the first ``count`` passages in one call."""
    started = time.perf_counter()
    embedder.embed_passages(passages.texts[:count])
    return time.perf_counter() - started


@contextmanager
def our_index(
    articles: Sequence[Article], embedder: Embedder, config: IndexConfig, data_dir: Path
) -> Iterator[tuple[CorpusView, list[tuple[str, float]]]]:
    """Our index of ``articles`` built through the write path (ingest, then the merges the
    background thread would make): its snapshot and the build's parts (name, seconds)."""
    timed = TimedEmbedder(embedder)
    corpus = Corpus(data_dir, timed.name, timed.dimension, config, refresh_seconds=0)
    try:
        started = time.perf_counter()
        corpus.add_articles(articles, timed)
        ingest = time.perf_counter() - started
        started = time.perf_counter()
        while corpus.merge():
            pass
        merged = time.perf_counter() - started
        passage_part, sentence_part = timed.split()
        parts = [
            ("ingest (Corpus.add_articles)", ingest),
            ("  of which the passages' embeddings", passage_part),
            ("  of which the sentences' embeddings", sentence_part),
            (
                "  of which the rest (chunk, SQLite, FAISS, BM25 segments)",
                ingest - passage_part - sentence_part,
            ),
            ("merge of the segments into one", merged),
        ]
        yield corpus.snapshot, parts
    finally:
        corpus.close()


def our_searchers(
    retriever: Retriever,
    snapshot: CorpusView,
    pool: int,
    methods: Sequence[Method] = ("dense", "hybrid"),
) -> dict[str, Search]:
    """One searcher per method through ``Retriever`` (the question's encode included)."""

    def searcher(method: Method) -> Search:
        def search(text: str) -> list[str]:
            return article_ranking(retriever.search(snapshot, retriever.encode(text), pool, method))

        return search

    return {f"ours, {method}": searcher(method) for method in methods}


def txtai_embeddings(model_path: str) -> Any:
    """A txtai ``Embeddings`` on the model at ``model_path`` with its defaults otherwise
    (FAISS backend; no content store: search returns ids and scores)."""
    try:
        from txtai import Embeddings
    except ImportError as exc:
        raise RuntimeError(f"txtai is not installed: {PEER_INSTALL}") from exc
    return Embeddings({"path": model_path, "content": False, "backend": "faiss"})


def txtai_version() -> str:
    """The installed txtai's version; raises ``RuntimeError`` naming the install when absent."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("txtai")
    except PackageNotFoundError as exc:
        raise RuntimeError(f"txtai is not installed: {PEER_INSTALL}") from exc


def txtai_index(model_path: str, passages: Passages) -> tuple[Any, float, float, dict[str, str]]:
    """txtai's index of the passages: the ``Embeddings``, its build seconds, the seconds of a
    one-passage index (its model load, paid inside every build) and its settings."""
    import faiss
    import torch

    started = time.perf_counter()
    txtai_embeddings(model_path).index([(0, passages.texts[0], None)])
    fixed = time.perf_counter() - started
    embeddings = txtai_embeddings(model_path)
    started = time.perf_counter()
    embeddings.index((i, text, None) for i, text in enumerate(passages.texts))
    build = time.perf_counter() - started
    ann = embeddings.ann
    settings = {
        "threads after its build": (
            f"torch {torch.get_num_threads()}, faiss {faiss.omp_get_max_threads()}"
        ),
        "faiss": str(embeddings.config.get("build", {}).get("settings", {})),
        "nprobe": str(ann.nprobe()) if hasattr(ann, "nprobe") else "n/a",
        "encode batch": str(getattr(embeddings.model, "encodebatch", "?")),
        "model load (a one-passage index)": f"{fixed:.1f} s",
    }
    return embeddings, build, fixed, settings


def txtai_searcher(embeddings: Any, passages: Passages, pool: int) -> Search:
    """Search through txtai; its passage ids mapped to their abstracts."""

    def search(text: str) -> list[str]:
        results = embeddings.search(text, pool)
        return abstract_ranking((int(uid) for uid, _ in results), passages.article_ids)

    return search


FLOOR = "floor: one query encoded alone"


def run(
    dataset: Path,
    retriever: Retriever,
    model_path: str,
    config: IndexConfig,
    *,
    articles: int | None = None,
    pool: int = DEFAULT_POOL,
    threads: int = 2,
    work: Path | None = None,
) -> Iterator[str]:
    """Every figure, as lines of text as they are measured, then the table."""
    settings = {"txtai": txtai_version()}  # checked before minutes of our build, not after
    settings.update({f"ours, {k}": v for k, v in set_threads(threads).items()})
    data = load_beir(dataset, "test")
    kept = data.articles[:articles] if articles else data.articles
    queries = judged_within(data.queries, (a.id for a in kept))
    passages = passages_of(kept, config)
    embedder = retriever.embedder
    yield (
        f"{len(kept)} abstracts of {dataset.name}, {len(passages.texts)} passages, "
        f"{len(queries)} judged queries; {settings}"
    )
    floor = encode_floor(embedder, passages)
    sample = _sample_floor(embedder, passages)
    yield f"floor: the model encodes the {len(passages.texts)} passages in {floor:.1f} s"
    with tempfile.TemporaryDirectory(prefix="qa-peer-") as tmp:
        base = work or Path(tmp)
        with our_index(kept, embedder, config, base / "ours") as (snapshot, parts):
            yield from (f"ours, build: {name.strip()} {seconds:.1f} s" for name, seconds in parts)
            # Set again: txtai's FAISS module sets OMP_NUM_THREADS when it is first imported.
            settings.update({f"txtai, {k}": v for k, v in set_threads(threads).items()})
            embeddings, build, _, txtai_settings = txtai_index(model_path, passages)
            settings.update({f"txtai {k}": v for k, v in txtai_settings.items()})
            yield f"txtai: build {build:.1f} s"

            def encode_only(text: str) -> list[str]:
                embedder.embed_query(text)
                return []

            searchers: dict[str, Search] = {
                FLOOR: encode_only,
                **our_searchers(retriever, snapshot, pool),
                "txtai Embeddings": txtai_searcher(embeddings, passages, pool),
            }
            measured = interleaved_searches(searchers, queries)
    # The machine is shared: the first passages encoded again now, against the same at the
    # start, tell whether its speed changed during the run.
    drift = _sample_floor(embedder, passages)
    settings["floor drift (first 200 passages, start -> end)"] = f"{sample:.1f} s -> {drift:.1f} s"
    judged = [q.relevant for q in queries]
    report = PeerReport(
        len(passages.texts),
        passages.sentences,
        len(kept),
        len(queries),
        pool,
        floor,
        statistics.median(measured[FLOOR][0]),
        settings,
        build_parts=parts,
    )
    # Our whole build is its ingest and its merge; the indented parts are shares of the ingest.
    ours_build = sum(seconds for name, seconds in parts if not name.startswith(" "))
    builds = {"ours, dense": ours_build, "txtai Embeddings": build}
    for name, (timings, rankings) in measured.items():
        if name != FLOOR:
            found, gain = quality(rankings, judged)
            report.rows.append(Row(name, builds.get(name), timings, found, gain))
    yield ""
    yield from report.table()
