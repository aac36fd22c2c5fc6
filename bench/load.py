"""A bounded load test of the running service: questions and writes mixed, from several clients
at once, for a fixed time; then every write the server acknowledged is read back.

Each client is a thread with its own keep-alive connection. A request is a question
(``POST /api/ask``), a search (``GET /api/search``), or, for the write share, a PUT of a new
article, a PUT replacing one of the client's earlier articles, or a DELETE of one. Clients
write only ids of their own, so the last acknowledged version of each id is known. Afterwards
each of those ids is read back: an acknowledged PUT must be there with the text sent, an
acknowledged DELETE must answer 404. A write that got no acknowledgement (an error, no answer)
may have happened or not; either state passes.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import percentile
from bench.writes import KEY, server
from evaluation.runs import load_dataset
from index.clean import normalise_text

KINDS = ("ask", "search", "add", "replace", "delete")
WRITES = frozenset({"add", "replace", "delete"})


@dataclass(frozen=True)
class Sample:
    """One request: its kind, the status it got (0: no answer, the connection failed or timed
    out) and how long it took."""

    kind: str
    status: int
    seconds: float


@dataclass
class LoadReport:
    """What a load run saw."""

    url: str
    seconds: float
    clients: int
    questions: int
    samples: list[Sample] = field(default_factory=list)
    writes_checked: int = 0
    lost: list[str] = field(default_factory=list)  # one line per write the server lost
    floor: float | None = None  # seconds: the model encoding one question, alone
    server: str | None = None  # how the server was started, when the run started it

    @property
    def server_errors(self) -> int:
        """Answers with a 5xx status."""
        return sum(1 for s in self.samples if s.status >= 500)

    @property
    def unanswered(self) -> int:
        """Requests that got no answer at all."""
        return sum(1 for s in self.samples if s.status == 0)

    def lines(self) -> Iterator[str]:
        """The figures, one line each: rates and latency percentiles by kind, statuses, 5xx,
        lost writes, and the rates against the floor when there is one."""
        if self.server:
            yield self.server
        yield (
            f"{self.seconds:.0f} s, {self.clients} clients, {len(self.samples)} requests "
            f"({len(self.samples) / self.seconds:.1f}/s) against {self.url}; "
            f"{self.questions} distinct questions"
        )
        if self.floor is not None:
            yield f"floor: the model encodes one question alone in {1000 * self.floor:.1f} ms"
        for kind in KINDS:
            times = sorted(s.seconds for s in self.samples if s.kind == kind)
            if not times:
                continue
            p50, p95, p99 = (percentile(times, p) for p in (50, 95, 99))
            line = (
                f"  {kind:8} {len(times):6d} requests {len(times) / self.seconds:7.1f}/s  "
                f"p50 {1000 * p50:6.0f} ms  p95 {1000 * p95:6.0f} ms  p99 {1000 * p99:6.0f} ms"
            )
            if self.floor:
                line += f"  (p50 {p50 / self.floor:.1f}x, p99 {p99 / self.floor:.1f}x the encode)"
            yield line
        asked = sum(1 for s in self.samples if s.kind in ("ask", "search"))
        if self.floor:
            rate = asked / self.seconds
            yield (
                f"questions and searches: {rate:.1f}/s, {rate * self.floor:.2f}x the rate of "
                "back-to-back encodes on one thread"
            )
        statuses = Counter(s.status for s in self.samples)
        listed = ", ".join(f"{code or 'no answer'}: {n}" for code, n in sorted(statuses.items()))
        yield f"statuses: {listed}"
        yield f"5xx: {self.server_errors}; no answer: {self.unanswered}"
        acknowledged = sum(1 for s in self.samples if s.kind in WRITES and 200 <= s.status < 300)
        yield (
            f"lost writes: {len(self.lost)} ({acknowledged} writes acknowledged; "
            f"{self.writes_checked} articles read back)"
        )
        yield from (f"  lost: {line}" for line in self.lost)


class Client:
    """One keep-alive HTTP connection; a failed one is dropped and the next request opens
    another. Requests are never retried: a write is sent once."""

    def __init__(self, url: str, key: str | None, timeout: float = 60.0) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """The status (0 when no answer came) and the JSON body of one request."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        return self.send_raw(method, path, data, "application/json")

    def send_raw(
        self, method: str, path: str, data: bytes | None, content_type: str
    ) -> tuple[int, Any]:
        """As ``send``, with the body given as bytes of ``content_type``."""
        headers = dict(self.headers)
        if data is not None:
            headers["content-type"] = content_type
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, self.prefix + path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, None
        try:
            return response.status, json.loads(raw or b"null")
        except ValueError:
            return response.status, None

    def close(self) -> None:
        """Close the connection."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class _Writes:
    """A client's articles: what is live as acknowledged, and what each id may hold now
    (a text, or None for absent), more than one state when a write went unacknowledged."""

    live: dict[str, str] = field(default_factory=dict)
    expected: dict[str, set[str | None]] = field(default_factory=dict)


def _article_text(paragraph: str, version: int) -> str:
    # Already in the form the server stores (normalised, stripped), so it must read back equal.
    return normalise_text(f"{paragraph}\n\nVersion {version} of this note.").strip()


class _Run:
    def __init__(
        self,
        url: str,
        key: str | None,
        questions: Sequence[str],
        paragraphs: Sequence[str],
        write_share: float,
        deadline: float,
    ) -> None:
        self.url, self.key = url, key
        self.paragraphs = paragraphs
        self.write_share = write_share
        self.deadline = deadline
        self._questions = itertools.cycle(questions)
        self._lock = threading.Lock()
        self.samples: list[Sample] = []
        self.writes: list[_Writes] = []

    def next_question(self) -> str:
        with self._lock:  # every client takes the next one: distinct until the list runs out
            return next(self._questions)

    def work(self, index: int, seed: int) -> None:
        """One client's loop until the deadline: questions, and its own writes."""
        rng = random.Random(seed * 1000 + index)
        client = Client(self.url, self.key)
        writes = _Writes()
        samples: list[Sample] = []
        serial = itertools.count()
        try:
            while time.monotonic() < self.deadline:
                if rng.random() < self.write_share:
                    samples.append(self._write(client, rng, writes, f"load-{index}", serial))
                else:
                    samples.append(self._question(client, rng))
        finally:
            client.close()
            with self._lock:
                self.samples.extend(samples)
                self.writes.append(writes)

    def _question(self, client: Client, rng: random.Random) -> Sample:
        question = self.next_question()
        started = time.perf_counter()
        if rng.random() < 0.5:
            status, _ = client.send("POST", "/api/ask", {"question": question})
            kind = "ask"
        else:
            query = urllib.parse.urlencode({"q": question, "k": 10})
            status, _ = client.send("GET", f"/api/search?{query}")
            kind = "search"
        return Sample(kind, status, time.perf_counter() - started)

    def _write(
        self,
        client: Client,
        rng: random.Random,
        writes: _Writes,
        prefix: str,
        serial: Iterator[int],
    ) -> Sample:
        roll = rng.random()
        if not writes.live or roll < 0.5:
            kind, article_id = "add", f"{prefix}-{next(serial)}"
        elif roll < 0.8:
            kind, article_id = "replace", rng.choice(sorted(writes.live))
        else:
            kind, article_id = "delete", rng.choice(sorted(writes.live))
        before: str | None = writes.live.get(article_id)
        started = time.perf_counter()
        if kind == "delete":
            status, _ = client.send("DELETE", f"/api/articles/{article_id}")
            after: str | None = None
        else:
            after = _article_text(rng.choice(self.paragraphs), rng.randrange(10**6))
            body = {"title": f"Load note {article_id}", "text": after}
            status, _ = client.send("PUT", f"/api/articles/{article_id}", body)
        took = time.perf_counter() - started
        writes.live.pop(article_id, None)
        if 200 <= status < 300:
            writes.expected[article_id] = {after}
            if after is not None:
                writes.live[article_id] = after
        else:
            # Not acknowledged: it may or may not have happened; the id is not written again.
            writes.expected[article_id] = {before, after}
        return Sample(kind, status, took)


def read_back(url: str, key: str | None, expected: dict[str, set[str | None]]) -> list[str]:
    """Read each id back from the server; returns a line for each one whose state (its text,
    or None for absent) is not among those ``expected`` of it."""
    client = Client(url, key)
    lost = []
    try:
        for article_id, allowed in sorted(expected.items()):
            status, body = client.send("GET", f"/api/articles/{urllib.parse.quote(article_id)}")
            if status == 200:
                state: str | None = body["text"]
            elif status == 404:
                state = None
            else:
                lost.append(f"{article_id}: reading it back answered {status}")
                continue
            if state not in allowed:
                want = "absent" if allowed == {None} else "the last text acknowledged"
                have = "absent" if state is None else "another text"
                lost.append(f"{article_id}: expected {want}, found {have}")
    finally:
        client.close()
    return lost


def run_load(
    url: str,
    key: str | None,
    seconds: float,
    clients: int,
    questions: Sequence[str],
    paragraphs: Sequence[str],
    *,
    write_share: float = 0.3,
    seed: int = 0,
    floor: float | None = None,
) -> LoadReport:
    """Load the server at ``url`` for ``seconds`` from ``clients`` threads, then read back every
    write; ``floor`` (seconds per question encode) is reported beside the latencies."""
    if not questions or not paragraphs:
        raise ValueError("the load test needs questions and paragraphs to write")
    run = _Run(url, key, questions, paragraphs, write_share, time.monotonic() + seconds)
    started = time.monotonic()
    threads = [
        threading.Thread(target=run.work, args=(i, seed), name=f"load-{i}") for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    expected = {k: v for writes in run.writes for k, v in writes.expected.items()}
    lost = read_back(url, key, expected)
    return LoadReport(
        url=url,
        seconds=elapsed,
        clients=clients,
        questions=len(set(questions)),
        samples=run.samples,
        writes_checked=len(expected),
        lost=lost,
        floor=floor,
    )


def default_questions(seed: int = 0) -> list[str]:
    """The gold set's questions on the bundled article, then SQuAD 2.0 dev questions, shuffled
    after the gold ones: distinct questions for a long run."""
    gold = [q.text for q in load_dataset("gold").queries]
    squad = [q.text for q in load_dataset("squad").queries]
    random.Random(seed).shuffle(squad)
    return list(dict.fromkeys([*gold, *squad]))


def default_paragraphs() -> list[str]:
    """SQuAD 2.0 dev paragraphs: texts for the small articles the writers store."""
    return [a.text for a in load_dataset("squad").articles]


def encode_floor(questions: Sequence[str], count: int = 50) -> float:
    """The packaged model's median time to encode one question, in this process, nothing else
    asked of it: the least a question can cost on this machine now."""
    from index.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    sample = list(questions[:count])
    for text in sample[:5]:
        embedder.embed_query(text)  # warm-up
    times = []
    for text in sample:
        started = time.perf_counter()
        embedder.embed_query(text)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(
    checkout: Path,
    seconds: float,
    clients: int,
    *,
    url: str | None = None,
    key: str | None = None,
    questions: Sequence[str] | None = None,
    write_share: float = 0.3,
    seed: int = 0,
    work: Path | None = None,
) -> LoadReport:
    """The command: measure the floor, then load ``url``, or a ``qa serve`` started from
    ``checkout`` on a new data directory (in ``work``, or a temporary folder)."""
    texts = list(questions) if questions is not None else default_questions(seed)
    paragraphs = default_paragraphs()
    floor = encode_floor(texts)
    options: dict[str, Any] = {"write_share": write_share, "seed": seed, "floor": floor}
    if url is not None:
        return run_load(url, key, seconds, clients, texts, paragraphs, **options)
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        base = work or Path(tmp)
        with server(checkout, base / "data", base / "server.log") as (started, ready):
            report = run_load(started, KEY, seconds, clients, texts, paragraphs, **options)
    report.server = f"server: qa serve from {checkout}, new data directory, ready in {ready:.1f} s"
    return report
