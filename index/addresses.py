"""Which addresses the fetcher may connect to: a host is resolved once, and refused when any
of its addresses is not public (loopback, private, link-local, multicast, reserved, unspecified,
or an IPv6 form that carries such an IPv4 address), so a request cannot be made to reach the
service's own network (server-side request forgery)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from index.errors import FetchError

ALLOW_PRIVATE_SETTING = "QA_FETCH_ALLOW_PRIVATE=true"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any: each is a
    way to reach that IPv4 address, so it is judged as that address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.IPv6Network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible (::a.b.c.d, deprecated), other than :: and ::1 themselves.
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None


def address_problem(address: Address) -> str | None:
    """Why the fetcher must not connect to ``address`` (e.g. ``"loopback"``), or None when it
    is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            problem = address_problem(inner)
            return f"{problem} (inside {address})" if problem else None
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    if not address.is_global:  # shared (100.64/10), documentation, benchmarking ranges
        return "not public"
    return None


def parse_address(text: str) -> Address | None:
    """The address a URL host spells, in any form the C library accepts (``127.1``,
    ``0x7f.1``, ``2130706433``, ``017700000001``, ``::ffff:127.0.0.1``), or None for a name."""
    host = text.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    try:  # inet_aton reads the short, hexadecimal, octal and single-number forms
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (numeric hosts are not looked up)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_host(
    host: str,
    port: int,
    *,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    allowed: tuple[Network, ...] = (),
) -> str:
    """The address to connect to for ``host``: it is resolved once, and refused (``FetchError``
    with outcome ``refused``, naming the setting that lifts it) when any of its addresses is
    not public, unless ``allow_private`` or the address is in one of the ``allowed`` networks."""
    literal = parse_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(host, port)]
        except (OSError, UnicodeError) as exc:
            raise FetchError("network", f"cannot resolve {host!r}: {exc}") from exc
        if not addresses:
            raise FetchError("network", f"cannot resolve {host!r}: no address")
    if not allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem is not None and not any(address in net for net in allowed):
                raise FetchError(
                    "refused",
                    f"refused to fetch from {host!r}: its address {address} is {problem}; set"
                    f" {ALLOW_PRIVATE_SETTING} to let the service read its own network",
                )
    return str(addresses[0])
