"""Feeds and pages the feed tests serve: RSS 2.0, Atom, broken XML, and the pages their
entries link to."""

from __future__ import annotations

from bench.feedserver import FeedServer, Route, page

PAGES = {
    "/news/harbour": (
        "Harbour reopens after storm",
        [
            "The city's harbour reopened on Tuesday after a week of repairs to the sea wall.",
            "Officials said ferries would run to the islands again from Wednesday morning.",
        ],
        "2026-03-02",
    ),
    "/news/bridge": (
        "Old bridge to close for repairs",
        [
            "The old stone bridge over the river will close for eight months of repairs.",
            "Engineers found cracks in two of its arches during an inspection in January.",
        ],
        None,  # the page gives no date: the entry's fills it
    ),
    "/news/library": (
        "Library extends opening hours",
        [
            "The central library will stay open until ten at night from next month.",
            "The council said students had asked for longer hours during exams.",
        ],
        "2026-03-04",
    ),
}


def rss(server: FeedServer, paths: list[str]) -> str:
    items = "".join(
        f"<item><title>{PAGES[p][0]}</title><link>{server.url(p)}</link><guid>{p}</guid>"
        "<pubDate>Tue, 03 Mar 2026 09:00:00 GMT</pubDate><author>desk@herald.test (Desk)</author>"
        "</item>"
        for p in paths
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Test Herald</title>'
        f"<link>{server.url('/')}</link><description>News</description>{items}</channel></rss>"
    )


def atom(server: FeedServer, paths: list[str]) -> str:
    entries = "".join(
        f"<entry><title>{PAGES[p][0]}</title><link href='{server.url(p)}'/><id>tag:{p}</id>"
        "<updated>2026-03-05T08:00:00Z</updated></entry>"
        for p in paths
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Atom Daily</title><id>urn:atom-daily</id><updated>2026-03-05T08:00:00Z</updated>"
        f"{entries}</feed>"
    )


def serve_pages(server: FeedServer) -> None:
    """Put every page of ``PAGES`` on the server."""
    for path, (title, paragraphs, date) in PAGES.items():
        server.routes[path] = Route(page(title, paragraphs, date=date))


def serve_feeds(server: FeedServer) -> None:
    """An RSS 2.0 feed (with an ETag), an Atom feed and a broken one, with their pages."""
    serve_pages(server)
    server.routes["/rss.xml"] = Route(
        rss(server, ["/news/harbour", "/news/bridge"]),
        content_type="application/rss+xml; charset=utf-8",
        etag='"rss-1"',
    )
    server.routes["/atom.xml"] = Route(
        atom(server, ["/news/library"]), content_type="application/atom+xml"
    )
    server.routes["/broken.xml"] = Route(
        "<rss><channel><item><title>Unclosed", content_type="application/rss+xml"
    )
