"""What the service tells its operators: a request id on every response, one structured log
line per request, and Prometheus metrics at /metrics.

A logged path is the route's template (``/api/conversations/{conversation_id}``), never the path
as sent: whoever reads the logs must not learn the ids in it."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.corpus import IngestReport
from index.view import CorpusView

log = logging.getLogger("api.access")
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's own id is echoed only when it is short and plain; otherwise a fresh one is made.
_CALLER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
# Seconds; questions take milliseconds, bulk ingests minutes.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class _IndexSize(Collector):
    def __init__(self, snapshot: Callable[[], CorpusView | None]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot()
        if snapshot is None:
            return
        for name, value, text in (
            ("qa_index_articles", snapshot.article_count, "Articles in the published index."),
            ("qa_index_passages", snapshot.passage_count, "Passages in the published index."),
            ("qa_index_sentences", snapshot.sentence_count, "Sentences in the published index."),
            ("qa_index_generation", snapshot.generation, "Database generation of the index."),
        ):
            yield GaugeMetricFamily(name, text, value=value)


class Metrics:
    """The service's metrics, in a registry of its own (one per app, so tests do not mix)."""

    def __init__(self, snapshot: Callable[[], CorpusView | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qa_http_requests",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.ingested = Counter(
            "qa_ingest_articles",
            "Articles handled by the write endpoints, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.ingested_passages = Counter(
            "qa_ingest_passages", "Passages indexed by the write endpoints.", registry=self.registry
        )
        self.registry.register(_IndexSize(snapshot))

    def record_ingest(self, report: IngestReport, failed: int = 0) -> None:
        """Count one write call's outcome."""
        for outcome, count in (
            ("added", len(report.added)),
            ("updated", len(report.updated)),
            ("unchanged", len(report.unchanged)),
            ("failed", failed),
        ):
            if count:
                self.ingested.labels(outcome).inc(count)
        self.ingested_passages.inc(report.passages)

    def exposition(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


class RequestLogMiddleware:
    """Gives each request an id (echoed in ``X-Request-ID``), logs one JSON line when it ends,
    and feeds the request metrics. Headers are never logged, so neither are keys."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caller = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = caller if _CALLER_ID.match(caller) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        began = time.perf_counter()

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            elapsed = time.perf_counter() - began
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(elapsed)
            client = scope.get("client")
            log.info(
                json.dumps(
                    {
                        "event": "request",
                        "request_id": request_id,
                        "method": method,
                        # The route's template, never the path as sent: a path can hold a
                        # conversation id, which is all that guards a conversation.
                        "route": template,
                        "status": status,
                        "ms": round(elapsed * 1000, 1),
                        "client": client[0] if client else None,
                    }
                )
            )
