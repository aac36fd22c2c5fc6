"""The fetcher: polite to servers, refuses non-public addresses, and ends every hostile case
in a ``FetchError`` within its limits."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.feedserver import FeedServer, Route, feed_server, page
from index.addresses import address_problem, check_host
from index.errors import FetchError
from index.fetch import FEED_TYPES, USER_AGENT, Fetcher
from index.pages import article_from_url

LOOPBACK = ("127.0.0.1/32",)  # the test server's address, allowed; every other refused


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


def fetcher(**options: object) -> Fetcher:
    options = {"allowed": LOOPBACK, "host_delay": 0.0, "timeout": 3.0, **options}
    return Fetcher(**options)  # type: ignore[arg-type]


ARTICLE = page(
    "Harbour reopens after storm",
    [
        "The city's harbour reopened on Tuesday after a week of repairs to the sea wall.",
        "Officials said ferries would run to the islands again from Wednesday morning.",
    ],
    date="2026-03-02",
    author="Ana Ruiz",
)


def test_a_page_is_fetched_with_our_user_agent_and_read_as_an_article(server: FeedServer) -> None:
    server.routes["/news/harbour"] = Route(ARTICLE)
    article = article_from_url(server.url("/news/harbour"), fetcher())
    assert article.url == server.url("/news/harbour")
    assert article.title == "Harbour reopens after storm"
    assert article.published == "2026-03-02"
    assert "sea wall" in article.text
    assert server.requests[-1].headers["User-Agent"] == USER_AGENT
    # The same URL derives the same id: fetching it again updates the article.
    assert article_from_url(server.url("/news/harbour"), fetcher()).id == article.id


def test_without_the_setting_a_loopback_address_is_refused_naming_it(server: FeedServer) -> None:
    server.routes["/feed"] = Route("<rss/>", content_type="application/rss+xml")
    with pytest.raises(FetchError, match="QA_FETCH_ALLOW_PRIVATE=true") as caught:
        Fetcher(host_delay=0).fetch(server.url("/feed"), accept=FEED_TYPES)
    assert caught.value.outcome == "refused"
    assert server.requests == []  # not even robots.txt was asked for
    assert (
        Fetcher(allow_private=True, host_delay=0)
        .fetch(server.url("/feed"), accept=FEED_TYPES)
        .content
        == b"<rss/>"
    )


def test_an_unchanged_resource_costs_a_304(server: FeedServer) -> None:
    server.routes["/feed"] = Route("<rss/>", content_type="application/rss+xml", etag='"v1"')
    f = fetcher()
    first = f.fetch(server.url("/feed"), accept=FEED_TYPES)
    assert first.etag == '"v1"' and not first.not_modified
    again = f.fetch(server.url("/feed"), accept=FEED_TYPES, etag=first.etag)
    assert again.not_modified and again.content == b""
    assert f.outcomes == {"ok": 1, "not_modified": 1}


def test_robots_txt_is_honoured(server: FeedServer) -> None:
    server.routes["/robots.txt"] = Route(
        "User-agent: cited-answers\nDisallow: /private/\n", content_type="text/plain"
    )
    server.routes["/private/page"] = Route(ARTICLE)
    with pytest.raises(FetchError, match=r"robots\.txt") as caught:
        fetcher().fetch(server.url("/private/page"))
    assert caught.value.outcome == "robots"
    assert server.hits("/private/page") == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://10.0.0.7/",
        "http://[::ffff:169.254.169.254]/",
        "http://0xa9fea9fe/",
        "http://metadata.internal/",  # a name that resolves to link-local
    ],
)
def test_a_redirect_chain_ending_at_a_private_address_is_refused(
    server: FeedServer, target: str
) -> None:
    server.routes["/a"] = Route(status=302, headers={"Location": "/b"})
    server.routes["/b"] = Route(status=301, headers={"Location": target})

    def resolver(host: str, port: int) -> list[str]:
        return {"metadata.internal": ["169.254.169.254"]}.get(host, ["127.0.0.1"])

    with pytest.raises(FetchError, match="QA_FETCH_ALLOW_PRIVATE") as caught:
        fetcher(resolver=resolver).fetch(server.url("/a"))
    assert caught.value.outcome == "refused"


def test_a_redirect_to_another_scheme_is_refused(server: FeedServer) -> None:
    server.routes["/a"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="only http and https") as caught:
        fetcher().fetch(server.url("/a"))
    assert caught.value.outcome == "scheme"


def test_at_most_five_redirects_are_followed(server: FeedServer) -> None:
    for n in range(7):
        server.routes[f"/r{n}"] = Route(status=302, headers={"Location": f"/r{n + 1}"})
    server.routes["/r5"] = Route(ARTICLE)
    assert fetcher().fetch(server.url("/r0")).url == server.url("/r5")
    server.routes["/r5"] = Route(status=302, headers={"Location": "/r6"})
    with pytest.raises(FetchError, match="more than 5") as caught:
        fetcher().fetch(server.url("/r0"))
    assert caught.value.outcome == "redirects"


def test_a_page_that_grows_without_end_stops_at_the_size_cap(server: FeedServer) -> None:
    server.routes["/endless"] = Route("<html><body>", endless=True)
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than 100000 bytes") as caught:
        fetcher(max_bytes=100_000).fetch(server.url("/endless"))
    assert caught.value.outcome == "too_large"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("route", [Route(ARTICLE, delay=10), Route(ARTICLE, trickle=0.2)])
def test_a_slow_server_ends_in_a_timeout_not_a_hang(server: FeedServer, route: Route) -> None:
    server.routes["/slow"] = route
    started = time.monotonic()
    with pytest.raises(FetchError, match="longer than 1 s") as caught:
        fetcher(timeout=1.0).fetch(server.url("/slow"))
    assert caught.value.outcome == "timeout"
    assert time.monotonic() - started < 2.5


def test_an_error_status_carries_the_servers_retry_after(server: FeedServer) -> None:
    server.routes["/busy"] = Route(status=503, headers={"Retry-After": "120"})
    with pytest.raises(FetchError, match="HTTP 503") as caught:
        fetcher().fetch(server.url("/busy"))
    assert caught.value.retry_after == 120


def test_content_types_are_checked_and_character_sets_honoured(server: FeedServer) -> None:
    server.routes["/image"] = Route(b"\x89PNG", content_type="image/png")
    with pytest.raises(FetchError, match="image/png") as caught:
        fetcher().fetch(server.url("/image"))
    assert caught.value.outcome == "content_type"
    server.routes["/latin"] = Route(
        "<p>Caf\u00e9 se\u00f1or</p>".encode("latin-1"), content_type="text/html; charset=latin-1"
    )
    assert fetcher().fetch(server.url("/latin")).text() == "<p>Café señor</p>"


def test_the_connection_goes_to_the_address_that_was_checked(server: FeedServer) -> None:
    """One lookup per request, and its answer is where the request goes: a name the system
    cannot resolve reaches the test server through the resolver's one answer."""
    server.routes["/page"] = Route(ARTICLE)
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) <= 2 else ["169.254.169.254"]  # a rebinding

    f = fetcher(resolver=resolver)
    url = f"http://news.invalid:{server.port}/page"
    assert f.fetch(url).status == 200
    assert lookups == ["news.invalid", "news.invalid"]  # robots.txt, then the page
    assert server.requests[-1].headers["Host"] == f"news.invalid:{server.port}"
    with pytest.raises(FetchError, match=r"169\.254\.169\.254 is link-local"):
        f.fetch(url)  # the rebound answer is checked, never used unchecked


# -- the address checks, over every way of spelling an address -----------------------------

NON_PUBLIC_V4 = [
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "0.0.0.0/8",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]


@st.composite
def non_public_v4(draw: st.DrawFn) -> ipaddress.IPv4Address:
    net = draw(st.sampled_from(NON_PUBLIC_V4))
    offset = draw(st.integers(0, net.num_addresses - 1))
    return ipaddress.IPv4Address(int(net.network_address) + offset)


@st.composite
def public_v4(draw: st.DrawFn) -> ipaddress.IPv4Address:
    address = ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1)))
    if address_problem(address) is not None or not address.is_global:
        address = ipaddress.IPv4Address("93.184.216.34")
    return address


def spellings(address: ipaddress.IPv4Address, draw: st.DrawFn) -> str:
    """One of the ways a URL host can spell an IPv4 address."""
    value = int(address)
    octets = address.packed
    form = draw(st.sampled_from(range(9)))
    if form == 0:
        return str(address)
    if form == 1:
        return str(value)  # 2130706433
    if form == 2:
        return hex(value)  # 0x7f000001
    if form == 3:
        return f"{octets[0]}.{value & 0xFFFFFF}"  # 127.1
    if form == 4:
        return f"{octets[0]}.{octets[1]}.{value & 0xFFFF}"
    if form == 5:
        return ".".join(hex(o) for o in octets)  # 0x7f.0x0.0x0.0x1
    if form == 6:
        return f"{hex(octets[0])}.{value & 0xFFFFFF}"  # 0x7f.1
    if form == 7:
        return ".".join("0" + oct(o)[2:] for o in octets)  # 0177.0.0.01
    return f"[::ffff:{address}]"  # IPv4-mapped IPv6


def nowhere(host: str, port: int) -> list[str]:
    raise AssertionError(f"a literal address was looked up: {host!r}")


@given(st.data())
def test_every_spelling_of_a_non_public_ipv4_address_is_refused(data: st.DataObject) -> None:
    address = data.draw(non_public_v4())
    host = spellings(address, data.draw)
    with pytest.raises(FetchError, match="QA_FETCH_ALLOW_PRIVATE") as caught:
        check_host(host.strip("[]"), 80, allow_private=False, resolver=nowhere)
    assert caught.value.outcome == "refused"


@given(st.data())
def test_every_spelling_of_a_public_ipv4_address_is_allowed_as_itself(
    data: st.DataObject,
) -> None:
    address = data.draw(public_v4())
    host = spellings(address, data.draw).strip("[]")
    checked = check_host(host, 80, allow_private=False, resolver=nowhere)
    assert ipaddress.ip_address(checked) in (address, ipaddress.IPv6Address(f"::ffff:{address}"))


@given(st.integers(0, 2**128 - 1))
def test_an_ipv6_address_is_refused_exactly_when_it_is_not_public(value: int) -> None:
    address = ipaddress.IPv6Address(value)
    problem = address_problem(address)
    if problem is None:
        assert check_host(str(address), 443, allow_private=False, resolver=nowhere)
    else:
        with pytest.raises(FetchError, match=problem.split(" ")[0]):
            check_host(f"{address}", 443, allow_private=False, resolver=nowhere)


@pytest.mark.parametrize(
    "host",
    [
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:7f00:1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "0x7f.1",
        "2130706433",
        "017700000001",
        "127.1",
        "0",
    ],
)
def test_known_disguises_of_private_addresses_are_refused(host: str) -> None:
    with pytest.raises(FetchError, match="QA_FETCH_ALLOW_PRIVATE"):
        check_host(host, 80, allow_private=False, resolver=nowhere)


def test_a_name_with_any_private_address_is_refused() -> None:
    def both(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]

    with pytest.raises(FetchError, match=r"10\.1\.2\.3 is private"):
        check_host("mixed.example", 80, allow_private=False, resolver=both)
    assert check_host("mixed.example", 80, allow_private=True, resolver=both) == "93.184.216.34"
