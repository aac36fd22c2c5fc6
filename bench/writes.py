"""Benchmarks of the running service: readers during writes, visibility of another process's
writes, ingest throughput, and what one small write costs as the corpus grows.

Everything goes through a real ``qa serve`` on loopback and real ``qa ingest`` processes, started
from a checkout given on the command line (this one by default), so the same command measures an
older version of the service beside this one.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import free_port
from index.corpus import Corpus
from index.models import Article

KEY = "bench-key"
SEARCHES = [
    "white matter of newborn brains",
    "vitamin D and bone fractures",
    "tumour cells and immune response",
    "insulin resistance in obesity",
    "antibiotic resistance genes",
]


@dataclass
class Probe:
    """Latencies of one kind of request, sent in a loop by a background thread."""

    name: str
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        """``name: n requests, p50/p99/max, failures``."""
        if not self.seconds:
            return f"{self.name}: no request completed; {len(self.failures)} failed"
        s = sorted(self.seconds)
        p99 = s[min(len(s) - 1, int(0.99 * len(s)))]
        return (
            f"{self.name}: {len(s)} requests, p50 {1000 * statistics.median(s):.0f} ms, "
            f"p99 {1000 * p99:.0f} ms, max {1000 * s[-1]:.0f} ms, {len(self.failures)} failed"
        )


def _qa(*args: str) -> list[str]:
    """The command line running ``qa`` from the checkout that is the working directory."""
    return [sys.executable, "-c", "from cli.main import main; main()", *args]


def _env(checkout: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1", **extra}


def request(
    url: str, data: bytes | None = None, method: str = "GET", timeout: float = 5.0
) -> tuple[int, Any]:
    """Send one request; returns the status and the decoded JSON body."""
    headers = {"Authorization": f"Bearer {KEY}"}
    if data is not None:
        headers["content-type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@dataclass(frozen=True)
class Served:
    """A running ``qa serve``: its base url, seconds from start to ready, and its process."""

    url: str
    ready: float
    process: subprocess.Popen[bytes]


@contextmanager
def served(
    checkout: Path, data_dir: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """A ``qa serve`` on a free loopback port (``env`` added to its environment), stopped when
    the block ends."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            _qa("serve", "--data-dir", str(data_dir), "--port", str(port)),
            cwd=checkout,
            env=_env(checkout, QA_API_KEY=KEY, **(env or {})),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}; see {log}")
            try:
                if request(f"{url}/readyz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        yield Served(url, time.perf_counter() - started, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def server(checkout: Path, data_dir: Path, log: Path) -> Iterator[tuple[str, float]]:
    """A ``qa serve`` on a free loopback port; yields its base url and seconds to ready."""
    with served(checkout, data_dir, log) as running:
        yield running.url, running.ready


@contextmanager
def probing(url: str) -> Iterator[list[Probe]]:
    """Threads asking ``/api/search`` and ``/healthz`` in a loop while the block runs."""
    probes = [Probe("/api/search"), Probe("/healthz")]
    stop = threading.Event()

    def loop(probe: Probe, make: Callable[[int], str]) -> None:
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status, _ = request(make(i))
                if status != 200:
                    probe.failures.append(f"status {status}")
                else:
                    probe.seconds.append(time.perf_counter() - started)
            except OSError as exc:
                probe.failures.append(str(exc))
            i += 1
            time.sleep(0.05)

    def search(i: int) -> str:
        return f"{url}/api/search?" + urllib.parse.urlencode({"q": SEARCHES[i % len(SEARCHES)]})

    threads = [
        threading.Thread(target=loop, args=(probes[0], search)),
        threading.Thread(target=loop, args=(probes[1], lambda i: f"{url}/healthz")),
    ]
    for t in threads:
        t.start()
    try:
        yield probes
    finally:
        stop.set()
        for t in threads:
            t.join()


def jsonl(articles: Sequence[dict[str, Any]]) -> bytes:
    """Articles as a JSONL body."""
    return "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles).encode("utf-8")


def read_articles(path: Path, start: int, count: int) -> list[dict[str, Any]]:
    """``count`` records of a JSONL corpus from line ``start``, as the write API takes them."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i < start or not line.strip():
                continue
            doc = json.loads(line)
            title = doc.get("title") or doc["_id"]
            out.append({"id": str(doc["_id"]), "title": title, "text": doc["text"]})
            if len(out) == count:
                break
    return out


def visible(url: str, article_id: str, title: str) -> bool:
    """Whether a search restricted to this article finds it (the server's snapshot has it)."""
    query = urllib.parse.urlencode({"q": title, "article_id": article_id, "k": 1})
    status, body = request(f"{url}/api/search?{query}")
    return status == 200 and bool(body["citations"])


def readers_during_writes(checkout: Path, corpus: Path, articles: int, work: Path) -> Iterator[str]:
    """Readers while a bulk ingest runs through the API, then while ``qa ingest`` writes from
    another process; ingest throughput; how soon the other process's writes are found."""
    data_dir = work / "data"
    with server(checkout, data_dir, work / "server.log") as (url, ready):
        yield f"cold start to ready (model load, bundled article ingested): {ready:.1f} s"

        def bulk(first: int) -> tuple[float, int]:
            body = jsonl(read_articles(corpus, first, articles))
            started = time.perf_counter()
            status, report = request(f"{url}/api/articles:bulk", body, "POST", timeout=3600)
            if status != 200:
                raise RuntimeError(f"bulk ingest answered {status}: {report}")
            return time.perf_counter() - started, int(report["passages"])

        took, passages = bulk(0)
        yield (
            f"bulk ingest of {articles} articles through the API, nothing else running: "
            f"{took:.1f} s, {passages} passages, {passages / took:.1f} passages/s"
        )
        with probing(url) as probes:
            took, passages = bulk(articles)
        yield (
            f"bulk ingest of the next {articles} with readers asking: {took:.1f} s, "
            f"{passages / took:.1f} passages/s"
        )
        yield from (f"  during it, {p.line()}" for p in probes)
        more = read_articles(corpus, 2 * articles, articles)
        feed = work / "more.jsonl"
        feed.write_bytes(jsonl(more))
        with probing(url) as probes:
            started = time.perf_counter()
            process = subprocess.Popen(
                _qa("ingest", "--no-progress", "--data-dir", str(data_dir), str(feed)),
                cwd=checkout,
                env=_env(checkout),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            seen_during = 0
            while process.poll() is None:
                time.sleep(0.5)
                try:
                    status, ready_body = request(f"{url}/readyz")
                except OSError:
                    continue  # counted by the probes; the count is read again next time
                if status == 200:
                    seen_during = max(seen_during, ready_body["articles"] - 2 * articles - 1)
            ended = time.perf_counter()
            last = more[-1]
            lag: float | None = None
            while time.perf_counter() - ended < 120:
                try:
                    if visible(url, last["id"], last["title"]):
                        lag = time.perf_counter() - ended
                        break
                except OSError:
                    pass
                time.sleep(0.02)
        found = "not within 120 s" if lag is None else f"{lag:.2f} s after the process exited"
        yield (
            f"qa ingest of {articles} more articles from another process: {ended - started:.1f} s"
            f" (with its model load); the server listed up to {seen_during} of them while it ran;"
            f" its last article was found {found}"
        )
        yield from (f"  during it, {p.line()}" for p in probes)


def encode_floor(corpus: Path, articles: int) -> Iterator[str]:
    """The model alone on the first bulk's passages and sentences (two batch encodes, as ingest
    makes them): the throughput no ingest can beat on this machine, measured in the same run."""
    from index.config import IndexConfig, indexed_passages
    from index.embed import SentenceTransformerEmbedder
    from index.sources import article_from_record

    config = IndexConfig()
    items = [article_from_record(r) for r in read_articles(corpus, 0, articles)]
    indexed = list(indexed_passages(items, config))
    texts = [text for _, _, text in indexed]
    sentences = [s.text for _, p, _ in indexed for s in p.sentences]
    embedder = SentenceTransformerEmbedder()
    embedder.embed_passages(texts[:64])  # warm-up
    started = time.perf_counter()
    embedder.embed_passages(texts)
    embedder.embed_passages(sentences)
    took = time.perf_counter() - started
    yield (
        f"floor: the model alone embeds the same {len(texts)} passages and {len(sentences)} "
        f"sentences in {took:.1f} s, {len(texts) / took:.1f} passages/s"
    )


class RandomEmbedder:
    """Random unit vectors under the real model's name: synthetic corpora for the write-cost
    trend, where what is measured is the index, not the model."""

    def __init__(self, name: str, dimension: int, seed: int = 0) -> None:
        self.name, self.dimension = name, dimension
        self._rng = np.random.default_rng(seed)

    def embed_passages(self, texts: Sequence[str]) -> Any:
        vectors = self._rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_query(self, text: str) -> Any:
        return self.embed_passages([text])[0]


WORDS = (
    "council budget river harbour strike minister court election flood rail bank rates "
    "school hospital police festival market drought wheat energy port union airline"
).split()


def synthetic(i: int) -> Article:
    """A two-paragraph news item; passages of about sixty words."""
    rng = np.random.default_rng(i)

    def sentence() -> str:
        return " ".join(rng.choice(WORDS, 30)).capitalize() + "."

    paragraphs = [" ".join(sentence() for _ in range(2)) for _ in range(2)]
    return Article(id=f"s{i}", title=f"Synthetic report {i}", text="\n\n".join(paragraphs))


def write_cost(
    checkout: Path, sizes: Sequence[int], work: Path, model: str, dimension: int
) -> Iterator[str]:
    """One small article PUT through the API on corpora of about ``sizes`` passages (synthetic
    articles with random vectors under the real model's name, plus the bundled article)."""
    for size in sizes:
        data_dir = work / f"size-{size}"
        corpus = Corpus(data_dir, model, dimension, refresh_seconds=0)
        fake = RandomEmbedder(model, dimension)
        corpus.add_articles((synthetic(i) for i in range(size // 2)), fake, batch_articles=2000)
        # Merged now, so that the server's background merge of the corpus's batches does not
        # share the CPU with the writes being measured.
        while corpus.merge():
            pass
        corpus.close()
        with server(checkout, data_dir, work / f"server-{size}.log") as (url, _):
            passages = request(f"{url}/readyz")[1]["passages"]
            costs = []
            for n in range(12):
                body = json.dumps(
                    {"title": f"Short note {n}", "text": f"Ferry {n} sailed at dawn. It was late."}
                ).encode()
                started = time.perf_counter()
                status, _ = request(f"{url}/api/articles/note-{n}", body, "PUT", timeout=600)
                costs.append(time.perf_counter() - started)
                if status not in (200, 201):
                    raise RuntimeError(f"PUT answered {status}")
            encode = []
            for n in range(12):
                started = time.perf_counter()
                request(f"{url}/api/search?" + urllib.parse.urlencode({"q": f"ferry {n} dawn"}))
                encode.append(time.perf_counter() - started)
        put_ms = 1000 * statistics.median(costs[2:])
        search_ms = 1000 * statistics.median(encode[2:])
        yield (
            f"{passages:>7} passages: one small PUT median {put_ms:.0f} ms (a search on the same"
            f" server, one model encode and the ranking: median {search_ms:.0f} ms)"
        )


def engine_write_cost(
    sizes: Sequence[int], work: Path, model: str, dimension: int
) -> Iterator[str]:
    """The index engine alone, in this process: adding and deleting one small article on
    synthetic corpora of about ``sizes`` passages (random vectors; no model, no HTTP), so what
    is measured is the write path's own cost: commit, segment, snapshot swap."""
    fake = RandomEmbedder(model, dimension)
    for size in sizes:
        corpus = Corpus(work / f"engine-{size}", model, dimension, refresh_seconds=0)
        corpus.add_articles((synthetic(i) for i in range(size // 2)), fake, batch_articles=2000)
        while corpus.merge():
            pass
        adds, deletes = [], []
        for n in range(12):
            note = Article(id=f"note-{n}", title=f"Short note {n}", text=f"Ferry {n} sailed.")
            started = time.perf_counter()
            corpus.add_articles([note], fake)
            adds.append(time.perf_counter() - started)
        for n in range(12):
            started = time.perf_counter()
            corpus.delete_article(f"note-{n}")
            deletes.append(time.perf_counter() - started)
        passages = corpus.snapshot.passage_count
        corpus.close()
        yield (
            f"{passages:>7} passages: add one article median "
            f"{1000 * statistics.median(adds[2:]):.1f} ms, delete one median "
            f"{1000 * statistics.median(deletes[2:]):.1f} ms"
        )


def run(
    checkout: Path,
    corpus: Path,
    articles: int,
    sizes: Sequence[int],
    model: str,
    dimension: int,
    work: Path | None = None,
    engine_sizes: Sequence[int] = (),
) -> Iterator[str]:
    """Every figure, as lines of text, as they are measured."""
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        base = work or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        yield f"checkout {checkout}, {os.cpu_count()} CPUs"
        if articles:
            yield from encode_floor(corpus, articles)
            yield from readers_during_writes(checkout, corpus, articles, base / "readers")
        if sizes:
            yield "write cost by corpus size (synthetic articles, random vectors):"
            yield from write_cost(checkout, sizes, base / "writes", model, dimension)
        if engine_sizes:
            yield "the engine alone by corpus size (synthetic articles, random vectors):"
            yield from engine_write_cost(engine_sizes, base / "engine", model, dimension)
