"""The commands that measure the index (`qa bench-writes`, `bench-peer`, `bench-index`): its
write path under readers, its search against a peer library's, its vector engine at scale;
registered on `qa` by ``bench.cli.register``."""

from __future__ import annotations

from pathlib import Path

import click

from bench.harness import CHECKOUT
from cli.options import numbers
from evaluation.runs import EVAL_DIR
from service.services import load_embedder, settings_retriever
from service.settings import Settings


@click.command(name="bench-writes")
@click.option(
    "--checkout",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=CHECKOUT,
    help="Run the server and qa ingest from this source tree (default: this one).",
)
@click.option(
    "--corpus",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=EVAL_DIR / "scifact" / "corpus.jsonl",
    show_default=True,
    help="JSONL articles to ingest (BEIR corpus layout).",
)
@click.option("--articles", default=400, show_default=True, type=click.IntRange(0))
@click.option(
    "--sizes",
    default="0,2000,20000",
    show_default=True,
    help="Corpus sizes (passages) for the write-cost trend, comma-separated; empty to skip.",
)
@click.option(
    "--engine-sizes",
    default="",
    help="Corpus sizes (passages) at which to time the index engine alone, in this process "
    "(no model, no HTTP), comma-separated.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep data directories and server logs here (default: a temporary folder).",
)
def bench_writes(
    checkout: Path,
    corpus: Path,
    articles: int,
    sizes: str,
    engine_sizes: str,
    work_dir: Path | None,
) -> None:
    """Measure readers during writes, ingest speed and the cost of one write by corpus size.

    Measures the model alone on ARTICLES articles' passages and sentences (the floor), then
    starts `qa serve` on loopback from CHECKOUT and sends ARTICLES articles through POST
    /api/articles:bulk with nothing else running (passages/s), the next ARTICLES while threads
    ask /api/search and /healthz in a loop, and the next ARTICLES through `qa ingest` in another
    process, again with the readers asking; reports their latencies and failures and how soon the
    other process's last article is found. Then PUTs small articles into synthetic corpora of
    each size (0: the bundled article alone; random vectors stand in for embeddings) and reports
    the median cost.

    \b
    Example:
        qa bench-writes --articles 400 --sizes 2000,20000,200000
        qa bench-writes --checkout ../older-version --sizes 2000
        qa bench-writes --articles 0 --sizes "" --engine-sizes 26,2000,20000,200000
    """
    from bench.writes import run

    settings = Settings()
    counts = numbers(sizes, int, "--sizes")
    engine = numbers(engine_sizes, int, "--engine-sizes")
    dimension = 384  # all-MiniLM-L6-v2
    lines = run(
        checkout, corpus, articles, counts, settings.model_name, dimension, work_dir, engine
    )
    for line in lines:
        click.echo(line)


@click.command(name="bench-peer")
@click.option(
    "--dataset",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=EVAL_DIR / "scifact",
    show_default=True,
    help="A BEIR folder: corpus.jsonl, queries_test.jsonl, qrels/test.tsv.",
)
@click.option(
    "--articles",
    type=click.IntRange(1),
    default=None,
    help="Only the first N abstracts (and the queries judged on them). Default: all.",
)
@click.option(
    "--pool",
    default=100,
    show_default=True,
    type=click.IntRange(10, 1000),
    help="Passages each search returns, reduced to abstracts for recall@10 and nDCG@10.",
)
@click.option(
    "--threads",
    default=2,
    show_default=True,
    type=click.IntRange(1),
    help="Threads for torch and FAISS, the same for both sides.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep our side's data directory here (default: a temporary folder).",
)
def bench_peer(
    dataset: Path, articles: int | None, pool: int, threads: int, work_dir: Path | None
) -> None:
    """Compare our index with txtai's Embeddings on the same passages and model.

    Cuts the dataset's abstracts into passages with our chunker, then in one run measures the
    model encoding them alone (the floor); our build through the write path (with its
    passage and sentence embeddings apart) and dense and hybrid search; txtai's build and
    search with the same model directory and its FAISS defaults. Prints search p50/p95 over the
    test queries, recall@10 and nDCG@10 per abstract against the qrels, and every time as a
    multiple of its floor. Needs txtai: pip install -e '.[peer]' (make bench-peer does both).

    \b
    Example:
        qa bench-peer --articles 500
        nice -n 19 qa bench-peer --threads 2
    """
    from bench.peer import run
    from index.embed import packaged_model_path

    settings = Settings()
    embedder = load_embedder(settings)
    # The service's own retriever, so "ours" is what it runs (each search names its method).
    retriever = settings_retriever(settings, embedder)
    lines = run(
        dataset,
        retriever,
        settings.model_path or packaged_model_path(),
        settings.index_config(),
        articles=articles,
        pool=pool,
        threads=threads,
        work=work_dir,
    )
    try:
        for line in lines:
            click.echo(line)
    except (RuntimeError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.command(name="bench-index")
@click.option(
    "--passages",
    default=1_000_000,
    show_default=True,
    type=click.IntRange(0),
    help="Segment size to build and measure (0: only the --flat-sizes table).",
)
@click.option(
    "--data",
    type=click.Choice(["clustered", "random", "both"]),
    default="both",
    show_default=True,
    help="Stand-in vectors: around 4,000 random centres with noise, uniformly random, or both.",
)
@click.option("--queries", default=300, show_default=True, type=click.IntRange(1))
@click.option("--dimension", default=384, show_default=True, type=click.IntRange(1))
@click.option(
    "--ef-search",
    default="64,128,256",
    show_default=True,
    help="Also search the same graph with these efSearch values, comma-separated.",
)
@click.option(
    "--filters",
    default="0.001,0.01,0.05,0.1,0.3",
    show_default=True,
    help="Shares of rows allowed by a filter to time through the graph and exactly.",
)
@click.option(
    "--flat-sizes",
    default="",
    help="First time flat (exact) search alone at these sizes, comma-separated: the table the "
    "flat/approximate threshold comes from.",
)
@click.option("--build-threads", default=2, show_default=True, type=click.IntRange(1))
@click.option(
    "--real-corpus",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Also measure real embeddings: these articles chunked and embedded with the configured "
    "model, searched with the questions of --real-queries.",
)
@click.option(
    "--real-queries",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=EVAL_DIR / "scifact" / "queries_train.jsonl",
    show_default=True,
    help="JSONL questions (a `text` each) for --real-corpus.",
)
def bench_index(
    passages: int,
    data: str,
    queries: int,
    dimension: int,
    ef_search: str,
    filters: str,
    flat_sizes: str,
    build_threads: int,
    real_corpus: Path | None,
    real_queries: Path,
) -> None:
    """Measure the vector index a segment of PASSAGES passages gets, on stand-in vectors.

    Builds the approximate index the engine picks for a large segment (index/vectors.py) and
    reports build time, memory (the index's bytes, process peak RSS), search p50/p95 of single
    queries with FAISS on one thread, recall@10 against brute force over the same vectors, and
    exact flat search at the same size. No model, no data directory: random vectors stand in
    for embeddings (`random`, the worst case for a graph) and so do vectors around a few
    thousand centres (`clustered`, with neighbours as real embeddings have); run them apart
    (`--data`) for a peak RSS of one alone.

    \b
    Example:
        qa bench-index --passages 1000000 --data clustered
        qa bench-index --passages 100000 --data random --filters ""
        qa bench-index --passages 0 --flat-sizes 5000,10000,20000,50000,100000
        qa bench-index --passages 0 --real-corpus evaluation/data/scifact/corpus.jsonl
    """
    from bench.index_scale import KINDS, flat_latency, measure, real_vectors, run

    shares = numbers(filters, float, "--filters")
    efs = numbers(ef_search, int, "--ef-search")
    sizes = numbers(flat_sizes, int, "--flat-sizes")
    if sizes:
        for line in flat_latency(sizes, dimension, queries=min(queries, 100)):
            click.echo(line)
        click.echo("")
    if real_corpus is not None:
        settings = Settings()
        matrix, probe = real_vectors(
            real_corpus, real_queries, load_embedder(settings), settings.index_config()
        )
        title = f"{len(matrix):,} passages of {real_corpus.name}, {settings.model_name}"
        for line in measure(matrix, probe, title, efs, shares, build_threads):
            click.echo(line)
    if passages == 0:
        return
    for kind in KINDS if data == "both" else (data,):
        lines = run(
            passages,
            kind,
            dimension=dimension,
            queries=queries,
            ef_searches=efs,
            filter_shares=shares,
            build_threads=build_threads,
        )
        for line in lines:
            click.echo(line)
