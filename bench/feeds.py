"""What a polling round costs: N feeds of M entries on a loopback server, polled twice (the
second round finds every feed unchanged: one request and a 304 each). Prints the time,
requests and 304s of each round.

    python -m bench.feeds --feeds 50 --entries 5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.feedserver import FeedServer, Route, feed_server, page
from index.corpus import Corpus
from index.feeds import FeedRegistry, RoundReport
from index.fetch import Fetcher
from index.models import Article


class _HashEmbedder:
    """Vectors from hashes: the round's cost without the model's (which depends on the text)."""

    name = "hash"
    dimension = 16

    def embed_passages(self, texts: list[str]) -> object:
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, hash(t) % self.dimension] = 1.0
        return out

    def embed_query(self, text: str) -> object:
        return self.embed_passages([text])[0]  # type: ignore[index]


def serve(server: FeedServer, feeds: int, entries: int) -> list[str]:
    urls = []
    for f in range(feeds):
        items = []
        for e in range(entries):
            path = f"/f{f}/e{e}"
            words = f"Feed {f} entry {e} reports on council budgets, bridges and ferries."
            server.routes[path] = Route(page(f"Story {f}-{e}", [words * 3, words[::-1] * 2]))
            items.append(
                f"<item><title>Story {f}-{e}</title><link>{server.url(path)}</link>"
                f"<guid>{path}</guid><pubDate>Tue, 03 Mar 2026 09:00:00 GMT</pubDate></item>"
            )
        server.routes[f"/f{f}.xml"] = Route(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {f}</title>'
            f"{''.join(items)}</channel></rss>",
            content_type="application/rss+xml",
            etag=f'"f{f}"',
        )
        urls.append(server.url(f"/f{f}.xml"))
    return urls


def line(name: str, report: RoundReport) -> str:
    return (
        f"{name}: {len(report.feeds)} feeds in {report.seconds:.2f} s, {report.requests} requests,"
        f" {report.not_modified} answered 304, {report.stored} articles stored"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--entries", type=int, default=5)
    args = parser.parse_args()
    embedder = _HashEmbedder()
    with tempfile.TemporaryDirectory() as tmp, feed_server() as server:
        urls = serve(server, args.feeds, args.entries)
        corpus = Corpus(Path(tmp), embedder.name, embedder.dimension, refresh_seconds=0)
        registry = FeedRegistry(corpus.db.engine)
        for url in urls:
            registry.add(url)
        fetcher = Fetcher(allowed=("127.0.0.1/32",), host_delay=0)

        def ingest(articles: list[Article]) -> object:
            return corpus.add_articles(articles, embedder)  # type: ignore[arg-type]

        first = registry.poll(fetcher, ingest, force=True)  # type: ignore[arg-type]
        second = registry.poll(fetcher, ingest, force=True)  # type: ignore[arg-type]
        print(line("first round", first))
        print(line("second round (unchanged)", second))
        print(f"server saw {len(server.requests)} requests (robots.txt included)")
        corpus.close()


if __name__ == "__main__":
    main()
