"""``qa bench``: how fast a real server answers, alone and under concurrent clients, how fast
it ingests, how soon it starts and how much memory it takes, beside the floors measured in the
same run on the same machine.

The floors are what the model alone costs: the int8 question encoder on one question and one
thread (the least a question can cost), and the model's own batch throughput on the passages the
ingest phase sends (the most an ingest can reach). Machines differ from run to run, so every
figure is also given as a ratio to its floor.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import percentile
from bench.load import Client, default_questions
from bench.writes import KEY, read_articles, served
from index.embed import Embedder


@dataclass(frozen=True)
class Latencies:
    """Seconds per request of one phase, and how long the phase took."""

    seconds: list[float]
    wall: float
    failed: int

    def line(self, floor: float) -> str:
        """p50/p95/p99 in ms, requests per second, and p50 against the floor."""
        s = sorted(self.seconds)
        p50, p95, p99 = (percentile(s, p) * 1000 for p in (50, 95, 99))
        return (
            f"{len(s)} answered, {self.failed} failed, {len(s) / self.wall:.1f} questions/s; "
            f"p50 {p50:.1f} ms ({p50 / (floor * 1000):.2f} x the floor), p95 {p95:.1f} ms, "
            f"p99 {p99:.1f} ms ({p99 / p50:.2f} x p50)"
        )


@dataclass(frozen=True)
class Floors:
    """What the model alone costs, in this process, with nothing else asked of it."""

    int8_question: float  # seconds: one question, int8 ONNX, one thread (median)
    fp32_question: float  # seconds: one question, PyTorch, every core (median)
    passages_per_second: float  # the fastest packaged batch path on the ingest's passages
    batch_path: str
    with_sentences_per_second: float  # passages/s when their sentences are embedded too
    passages: int
    sentences: int


def _median_encode(embedder: Embedder, questions: Sequence[str]) -> float:
    """Median seconds to encode one question, after a warm-up."""
    fn = embedder.embed_query
    for text in questions[:5]:
        fn(text)  # warm-up
    times = []
    for text in questions:
        started = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _batch_seconds(embedder: Embedder, texts: Sequence[str]) -> float:
    """Seconds to embed the texts as one call, after a warm-up."""
    fn = embedder.embed_passages
    fn(list(texts[:32]))  # warm-up
    started = time.perf_counter()
    fn(list(texts))
    return time.perf_counter() - started


def measure_floors(questions: Sequence[str], articles: Sequence[dict[str, str]]) -> Floors:
    """Time the packaged model alone: one question at a time through each encoder, and batches
    of the given articles' passages (chunked as ingest chunks them) through each batch path."""
    from index.config import IndexConfig, indexed_passages
    from index.embed import SentenceTransformerEmbedder, available_cores
    from index.onnx_embed import OnnxEmbedder
    from index.sources import article_from_record

    config = IndexConfig()
    items = [article_from_record(dict(a)) for a in articles]
    indexed = list(indexed_passages(items, config))
    texts = [text for _, _, text in indexed]
    sentences = [s.text for _, p, _ in indexed for s in p.sentences]
    fp32 = SentenceTransformerEmbedder()
    int8_one = OnnxEmbedder(threads=1)
    sample = list(questions[:100])
    int8_question = _median_encode(int8_one, sample)
    fp32_question = _median_encode(fp32, sample)
    paths: dict[str, Embedder] = {"fp32 (PyTorch)": fp32}
    if texts:
        paths["int8 (ONNX)"] = OnnxEmbedder(threads=available_cores())
    best, best_seconds = "fp32 (PyTorch)", float("inf")
    for name, embedder in paths.items():
        took = _batch_seconds(embedder, texts) if texts else float("nan")
        if took < best_seconds:
            best, best_seconds = name, took
    with_sentences = best_seconds + (_batch_seconds(paths[best], sentences) if sentences else 0)
    return Floors(
        int8_question=int8_question,
        fp32_question=fp32_question,
        passages_per_second=len(texts) / best_seconds if texts else float("nan"),
        batch_path=best,
        with_sentences_per_second=len(texts) / with_sentences if texts else float("nan"),
        passages=len(texts),
        sentences=len(sentences),
    )


def _ask_each(url: str, next_question: Callable[[], str | None]) -> tuple[list[float], int]:
    """Ask questions over one keep-alive connection until ``next_question`` gives None; returns
    the seconds of each answered one and how many failed."""
    client = Client(url, None)
    times: list[float] = []
    failed = 0
    try:
        while (text := next_question()) is not None:
            sent = time.perf_counter()
            status, _ = client.send("POST", "/api/ask", {"question": text})
            if status == 200:
                times.append(time.perf_counter() - sent)
            else:
                failed += 1
    finally:
        client.close()
    return times, failed


def sequential(url: str, questions: Sequence[str]) -> Latencies:
    """Each question in turn over one keep-alive connection."""
    cursor = iter(questions)
    started = time.perf_counter()
    times, failed = _ask_each(url, lambda: next(cursor, None))
    return Latencies(times, time.perf_counter() - started, failed)


def concurrent(url: str, questions: Sequence[str], clients: int) -> Latencies:
    """The questions shared out among ``clients`` threads, each with its own connection, all
    asking at once; every question is asked once."""
    times: list[float] = []
    failed = [0]
    lock = threading.Lock()
    cursor = iter(questions)
    gate = threading.Barrier(clients + 1)

    def take() -> str | None:
        with lock:
            return next(cursor, None)

    def work() -> None:
        gate.wait()
        mine, errors = _ask_each(url, take)
        with lock:
            times.extend(mine)
            failed[0] += errors

    threads = [threading.Thread(target=work, name=f"bench-{i}") for i in range(clients)]
    for t in threads:
        t.start()
    gate.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return Latencies(times, time.perf_counter() - started, failed[0])


def ingest(url: str, articles: Sequence[dict[str, str]], batch: int = 100) -> tuple[int, float]:
    """Send the articles through ``POST /api/articles:bulk``, ``batch`` a request; returns the
    passages stored and the seconds it took."""
    client = Client(url, KEY, timeout=600)
    passages = 0
    started = time.perf_counter()
    try:
        for first in range(0, len(articles), batch):
            status, body = client.send_raw(
                "POST",
                "/api/articles:bulk",
                "".join(json.dumps(a) + "\n" for a in articles[first : first + batch]).encode(),
                "application/x-ndjson",
            )
            if status != 200:
                raise RuntimeError(f"the bulk upload answered {status}: {body}")
            passages += int(body["passages"])
    finally:
        client.close()
    return passages, time.perf_counter() - started


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def run(
    checkout: Path,
    corpus: Path,
    *,
    questions: int = 200,
    clients: int = 8,
    concurrent_questions: int = 400,
    articles: int = 200,
    url: str | None = None,
    work: Path | None = None,
) -> Iterator[str]:
    """Every figure as a line of text, as it is measured."""
    texts = default_questions()
    needed = questions + concurrent_questions
    if len(texts) < needed:
        raise ValueError(f"only {len(texts)} distinct questions; ask for at most {len(texts)}")
    records = read_articles(corpus, 0, articles) if articles else []
    floors = measure_floors(texts[needed : needed + 100], records)
    f = floors.int8_question
    yield (
        f"floor, one question encoded alone: int8 ONNX on one thread {f * 1000:.1f} ms, "
        f"PyTorch fp32 {floors.fp32_question * 1000:.1f} ms"
    )
    if floors.passages:
        yield (
            f"floor, the model's batch throughput on the {floors.passages} passages of "
            f"{len(records)} articles: {floors.passages_per_second:.1f} passages/s "
            f"({floors.batch_path}, the faster packaged path); with their "
            f"{floors.sentences} sentences too, as ingest embeds them: "
            f"{floors.with_sentences_per_second:.1f} passages/s"
        )
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        base = work or Path(tmp)
        if url is not None:
            yield from _phases(
                url, texts, questions, clients, concurrent_questions, records, f, floors
            )
            return
        with served(checkout, base / "data", base / "first.log") as first:
            yield (
                f"cold start on a new data directory (model load, the bundled article ingested): "
                f"{first.ready:.2f} s"
            )
        with served(checkout, base / "data", base / "server.log") as running:
            waited = loaded(running.url)
            yield (
                "start on that data directory: answering questions after "
                f"{running.ready:.2f} s (question encoder, checkpoint read); the passage model "
                f"and tagger loaded {waited:.2f} s later (the phases below start then)"
            )
            yield from _phases(
                running.url, texts, questions, clients, concurrent_questions, records, f, floors
            )
            yield f"server peak RSS: {peak_rss_mib(running.process.pid):.0f} MiB"


def loaded(url: str, timeout: float = 600.0) -> float:
    """Wait until the server says its write models have loaded (``/readyz``); returns the
    seconds waited. A server that does not say (an older version) counts as loaded."""
    client = Client(url, None)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            status, body = client.send("GET", "/readyz")
            if status == 200 and (body or {}).get("write_models", "loaded") == "loaded":
                return time.perf_counter() - started
            time.sleep(0.1)
    finally:
        client.close()
    raise RuntimeError(f"the server's write models did not load within {timeout:.0f} s")


def _phases(
    url: str,
    texts: Sequence[str],
    questions: int,
    clients: int,
    concurrent_questions: int,
    records: Sequence[dict[str, str]],
    floor: float,
    floors: Floors,
) -> Iterator[str]:
    loaded(url)
    warm = sequential(url, texts[-20:])  # the first requests pay for lazy set-up
    if warm.failed:
        raise RuntimeError("the server did not answer the warm-up questions")
    yield f"POST /api/ask, {questions} questions one at a time: " + sequential(
        url, texts[:questions]
    ).line(floor)
    together = concurrent(url, texts[questions : questions + concurrent_questions], clients)
    rate = len(together.seconds) / together.wall
    yield (
        f"POST /api/ask, {clients} clients at once, {concurrent_questions} distinct questions: "
        + together.line(floor)
        + f"; {rate / (2 / floor):.2f} x what two cores encode (2 / the int8 floor)"
    )
    if records:
        passages, took = ingest(url, records)
        speed = passages / took
        yield (
            f"ingest through POST /api/articles:bulk: {len(records)} articles, {passages} "
            f"passages in {took:.1f} s, {speed:.1f} passages/s "
            f"({speed / floors.passages_per_second:.2f} x the model's batch throughput on "
            f"passages, {speed / floors.with_sentences_per_second:.2f} x on passages and "
            "sentences)"
        )
