"""Where a webhook may go: the checks that keep a request made for a client off the gateway's own
network (SSRF), made when an endpoint is created and again before every delivery.

A URL passes when it is http(s) (plain http only with GATEWAY_WEBHOOK_ALLOW_HTTP), has a host,
no credentials and no whitespace, and every address its host resolves to is globally routable:
not loopback, private, shared (CGNAT), link-local, multicast, reserved or unspecified, however it
is written (`2130706433`, `0x7f.1` and `127.1` resolve to 127.0.0.1 and are refused as such; an
IPv4 address inside IPv6, `::ffff:a.b.c.d`, NAT64's `64:ff9b::/96` or 6to4's `2002::/16`, is
checked as the IPv4 address it reaches). GATEWAY_WEBHOOK_ALLOW_NETWORKS allows networks an operator
names (`127.0.0.0/8` in the tests); the cloud metadata addresses stay refused even then.

A delivery connects to the address checked here (`Destination.address`) and never resolves the
name again, so DNS that changes between the check and the connection cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

from core.errors import DestinationRefused, InvalidWebhook

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_CHARS = 2048
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
DEFAULT_PORTS = {"http": 80, "https": 443}
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, as the operating system answers."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass(frozen=True)
class Destination:
    url: str
    scheme: str
    host: str  # as the URL names it: the Host header and the TLS server name
    port: int
    target: str  # path and query
    address: str  # the checked address the connection goes to


class Destinations:
    def __init__(self, allow_http: bool, allowed_networks: list[str],
                 resolver: Resolver = system_resolver) -> None:
        self.allow_http = allow_http
        self.allowed = [ipaddress.ip_network(network, strict=False) for network in allowed_networks]
        self.resolver = resolver

    def check(self, url: str, field: str = "url") -> Destination:
        """The destination `url` names, its address checked; InvalidWebhook or
        DestinationRefused (with `field` in `errors`) when it may not be called."""
        scheme, host, port, target = _parse(url, field)
        if scheme == "http" and not self.allow_http:
            _refuse(field, "must be https:// (plain http is allowed only with "
                           "GATEWAY_WEBHOOK_ALLOW_HTTP)")
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            _refuse(field, f"{host} does not resolve ({exc})")
        if not addresses:
            _refuse(field, f"{host} does not resolve")
        for address in addresses:
            reason = self.refusal(ipaddress.ip_address(address))
            if reason:
                _refuse(field, f"{host} resolves to {address}, {reason}; the gateway does not "
                               "call such addresses (GATEWAY_WEBHOOK_ALLOW_NETWORKS)")
        return Destination(url, scheme, host, port, target, addresses[0])

    def refusal(self, address: Address) -> str | None:
        """Why the gateway must not connect to `address`, or None."""
        inner = _embedded_ipv4(address)
        if inner is not None:
            return self.refusal(inner)
        if address in METADATA:
            return "a cloud metadata address"
        if any(address in network for network in self.allowed):
            return None
        return _kind(address)


def _parse(url: str, field: str) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_CHARS:
        _invalid(field, f"at most {MAX_URL_CHARS} characters")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        _invalid(field, "no whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        _invalid(field, f"not a valid URL ({exc})")
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        _refuse(field, "only http:// and https:// URLs are called")
    if not host:
        _invalid(field, "the URL has no host")
    if parts.username is not None or parts.password is not None:
        _invalid(field, "no credentials in the URL (they would be shown and logged with it)")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or DEFAULT_PORTS[scheme], target


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches: mapped, NAT64 or 6to4."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _kind(address: Address) -> str | None:
    for kind, test in (("loopback", address.is_loopback), ("link-local", address.is_link_local),
                       ("multicast", address.is_multicast), ("unspecified", address.is_unspecified),
                       ("reserved", address.is_reserved), ("private", address.is_private)):
        if test:
            return f"a {kind} address"
    return None if address.is_global else "not a globally routable address"


def _invalid(field: str, message: str) -> NoReturn:
    raise InvalidWebhook(f"{field}: {message}", errors={field: [message]})


def _refuse(field: str, message: str) -> NoReturn:
    raise DestinationRefused(f"{field}: {message}", errors={field: [message]})
