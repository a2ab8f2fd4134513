"""Fetch the page behind a link in a post, safely, for a title + domain preview.

Whoever writes a post chooses its links, so fetching one is a request our server makes on a
stranger's behalf (server-side request forgery). The fetch is safe by construction:

- Only `http` and `https`, no user name or password in the URL, at most MAX_URL_CHARS.
- A host that browsers read as an IPv4 number (`2130706433`, `0x7f000001`, `0177.0.0.1`,
  `127.1`) must be a plain dotted quad, and no host may end with a dot.
- The name is resolved here, and refused if ANY of its addresses is not public: loopback,
  private, shared (CGNAT), link-local and cloud metadata, multicast, reserved, unspecified, and
  IPv6 forms embedding such an IPv4 (`::ffff:127.0.0.1`, 6to4, NAT64). The check is on the
  addresses the resolver returns, not on how the host is written.
- The connection goes to the vetted address, never to the name again (see `_hop_send`), so a
  second DNS answer (rebinding) cannot send it elsewhere.
- Redirects are followed here, one hop at a time, each Location vetted like the first URL; at
  most LINKS_MAX_REDIRECTS, and never back to a URL already visited.
- Only `text/html` is read, at most LINKS_MAX_BYTES of it (after decompression, so a small
  gzip bomb cannot fill memory); the whole fetch, DNS included, ends after
  LINKS_TIMEOUT_SECONDS.
- In the demo (LINKS_OFFLINE_WEB_URL set in-process, never from the environment) nothing is
  resolved: every hop goes to the demo's own offline web server, the link's name in the Host
  header (`_offline_send`); the checks on the URL and on addresses written in it still apply.
- The page is tokenized by the stdlib HTML parser for `<title>` and Open Graph tags only
  (`page.py`): nothing is executed or fetched from it. No cookies are kept or sent, and no
  proxy from the environment is used (a proxy would resolve the name itself).
"""

from __future__ import annotations

import http.cookiejar
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from django.conf import settings

from mentiondesk import __version__

from .choices import PreviewStatus
from .constants import MAX_URL_CHARS
from .page import page_summary

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses the host resolves to, as strings.
Resolver = Callable[[str, int], Sequence[str]]
# (host, address) -> why `address` may not be fetched from ("a loopback address"), or None.
Refusal = Callable[[str, IPAddress], str | None]

USER_AGENT = f"mentiondesk-link-preview/{__version__}"
HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    # Asked for uncompressed pages; a server that compresses anyway is decoded with a bound.
    "Accept-Encoding": "identity",
}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Cloud instance metadata services (AWS, GCP, Azure, OpenStack, Alibaba, Oracle; AWS's IPv6
# one is a private address). Named apart so the reason says so, and never opened by
# LINKS_ALLOW_PRIVATE.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# What LINKS_ALLOW_PRIVATE opens: RFC 1918, shared address space (RFC 6598), unique local.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")
# Not public, yet `is_global` is true for them on some Python 3.11/3.12 releases: IETF protocol
# assignments (RFC 6890), deprecated site-local IPv6, discard-only (RFC 6666).
NOT_PUBLIC_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.0.0/24", "fec0::/10", "100::/64", "2001::/23")
)
SIXTOFOUR = ipaddress.ip_network("2002::/16")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# The last label of a host that the URL standard (and so every browser) parses as an IPv4
# number: decimal, or 0x hex. https://url.spec.whatwg.org/#ends-in-a-number-checker
_NUMBER_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


def address_refusal(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why no request may go to `address` ("a loopback address"), or None when it is a public
    unicast address. `allow_private` (LINKS_ALLOW_PRIVATE) also lets PRIVATE_NETWORKS through,
    never loopback, link-local or metadata addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            # fe80::1%eth0: only meaningful on a local link, and it would dodge the set below.
            return "a scoped address"
        # Forms that carry an IPv4 address: the IPv4 one is where the packets end up.
        embedded, form = None, ""
        if address.ipv4_mapped is not None:
            embedded, form = address.ipv4_mapped, "an IPv4-mapped form"
        elif address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
            form = "a NAT64 form"
        elif address in SIXTOFOUR and address.sixtofour is not None:
            embedded, form = address.sixtofour, "a 6to4 form"
        if embedded is not None:
            inner = address_refusal(embedded, allow_private=allow_private)
            return f"{form} of {embedded}, {inner}" if inner is not None else None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if any(address in network for network in PRIVATE_NETWORKS):
        if allow_private:
            return None
        if address in SHARED_NETWORK:
            return "a shared (carrier-grade NAT) address"
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global or any(address in network for network in NOT_PUBLIC_NETWORKS):
        return "not a public address"
    return None


def public_only(host: str, address: IPAddress) -> str | None:
    """The production refusal: `address_refusal` under LINKS_ALLOW_PRIVATE, whatever the host."""
    return address_refusal(address, allow_private=settings.LINKS_ALLOW_PRIVATE)


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, as the operating system's resolver answers."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class PeerPolicy:
    """Whom `link_fetch` may talk to: how names resolve, which addresses are refused, which
    certificates are trusted (None: httpx's default, certifi or SSL_CERT_FILE).

    Production uses the default, `PeerPolicy()`, and nothing in `src/` may change it. It is the
    one test seam: tests that need a real page serve it on 127.0.0.1, which the default
    refuses, so they swap the module's `peer_policy` for one that resolves their own `*.test`
    names to 127.0.0.1 and allows loopback for those names only; addresses written in a URL
    and every other name still get `public_only` (tests/integrations/test_links.py)."""

    resolve: Resolver = system_resolve
    refusal: Refusal = public_only
    tls: ssl.SSLContext | None = None


# Test seam, see PeerPolicy. Read once per `link_fetch`.
peer_policy = PeerPolicy()


@dataclass(frozen=True)
class FetchedPreview:
    """What `link_fetch` found. `error` is "" when `status` is ok, else a reason for people:
    "refused: 10.0.0.5 is a private address", "failed: the site answered HTTP 404"."""

    url: str
    final_url: str
    domain: str
    title: str
    description: str
    status: PreviewStatus
    error: str


class _Stop(Exception):
    """Ends a fetch with `status` and a reason (without its "refused: " prefix)."""

    def __init__(self, status: PreviewStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def link_fetch(url: str) -> FetchedPreview:
    """Fetch `url` as described in this module's docstring and extract its title and
    description. Never raises: a refusal or failure comes back as the status and reason.

    Blocks for at most LINKS_TIMEOUT_SECONDS: the fetch runs in a daemon thread that is left
    behind if it has not finished by then; it stops by itself within one more timeout (every
    network step's own timeout is the time left), and its result is dropped."""
    timeout = settings.LINKS_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    policy = peer_policy
    offline = httpx.URL(settings.LINKS_OFFLINE_WEB_URL) if settings.LINKS_OFFLINE_WEB_URL else None
    outcome: list[FetchedPreview] = []
    worker = threading.Thread(
        target=lambda: outcome.append(_fetch_guarded(url, policy, deadline, offline)),
        name="link-preview",
        daemon=True,
    )
    worker.start()
    worker.join(timeout)
    if outcome:
        return outcome[0]
    return _result(url, None, _Stop(PreviewStatus.FAILED, _timed_out()), domain=_domain_of(url))


def _fetch_guarded(
    url: str, policy: PeerPolicy, deadline: float, offline: httpx.URL | None
) -> FetchedPreview:
    try:
        return _fetch(url, policy, deadline, offline)
    except Exception:
        # A bug here must not take the worker's task down with it; the log has the traceback.
        logger.exception("link preview of %r failed unexpectedly", url)
        return _result(url, None, _Stop(PreviewStatus.FAILED, "unexpected error (see the log)"))


def _fetch(
    url: str, policy: PeerPolicy, deadline: float, offline: httpx.URL | None
) -> FetchedPreview:
    current: httpx.URL | None = None
    redirects = 0
    try:
        current = _url_checked(url)
        visited = {_without_fragment(current)}
        with httpx.Client(
            transport=httpx.HTTPTransport(verify=policy.tls or True, retries=0),
            headers=HEADERS,
            # A jar that accepts no cookie: none is stored from a response or sent on a hop.
            cookies=http.cookiejar.CookieJar(
                http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
            ),
            follow_redirects=False,
            trust_env=False,
        ) as client:
            while True:
                try:
                    if offline is not None:
                        response = _offline_send(client, current, policy, deadline, offline)
                    else:
                        response = _hop_send(client, current, policy, deadline)
                except _Stop as stop:
                    if redirects and stop.status == PreviewStatus.REFUSED:
                        stop.reason = f"redirected to {current}; {stop.reason}"
                    raise
                try:
                    if response.status_code not in REDIRECT_STATUSES:
                        return _page_read(url, current, response, deadline)
                    location = response.headers.get("location", "").strip()
                finally:
                    response.close()
                if not location:
                    raise _Stop(
                        PreviewStatus.FAILED,
                        f"{_host(current)} answered HTTP {response.status_code} without a Location",
                    )
                try:
                    target = _url_checked(location, base=current)
                except _Stop as stop:
                    stop.reason = f"redirected to {location[:200]}; {stop.reason}"
                    raise
                redirects += 1
                if _without_fragment(target) in visited:
                    raise _Stop(PreviewStatus.FAILED, f"redirect loop back to {target}")
                if redirects > settings.LINKS_MAX_REDIRECTS:
                    raise _Stop(
                        PreviewStatus.FAILED,
                        f"more than {settings.LINKS_MAX_REDIRECTS} redirects",
                    )
                visited.add(_without_fragment(target))
                current = target
    except _Stop as stop:
        return _result(url, current, stop)


def _url_checked(raw: str, *, base: httpx.URL | None = None) -> httpx.URL:
    """`raw` (relative to `base`, for a Location) as a URL we may try to fetch; raises _Stop."""
    if len(raw) > MAX_URL_CHARS:
        raise _Stop(PreviewStatus.REFUSED, f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        url = base.join(raw) if base is not None else httpx.URL(raw)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise _Stop(PreviewStatus.REFUSED, f"not a valid URL ({exc})") from exc
    if url.scheme not in ("http", "https"):
        scheme = f"{url.scheme}:" if url.scheme else "a URL without a scheme"
        raise _Stop(PreviewStatus.REFUSED, f"only http and https links are fetched, not {scheme}")
    if url.userinfo:
        raise _Stop(PreviewStatus.REFUSED, "the URL carries a user name or password")
    host = _host(url)
    if not host:
        raise _Stop(PreviewStatus.REFUSED, "the URL has no host")
    if host.endswith("."):
        raise _Stop(PreviewStatus.REFUSED, f"the host {host} ends with a dot")
    if ":" not in host and _NUMBER_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        try:
            canonical = str(ipaddress.IPv4Address(host))
        except ValueError:
            canonical = ""
        if canonical != host:
            raise _Stop(PreviewStatus.REFUSED, f"{host} is not written as a plain IPv4 address")
    if url.port == 0:
        raise _Stop(PreviewStatus.REFUSED, "port 0 is not a port")
    return url


def _addresses_vetted(url: httpx.URL, policy: PeerPolicy) -> tuple[bool, list[IPAddress]]:
    """Whether the host is an address literal, and the addresses to connect to: all of them
    allowed by `policy`, or _Stop(REFUSED) naming the first that is not."""
    host = _host(url)
    literal = _literal_vetted(host, policy)
    if literal is not None:
        return True, [literal]
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        answers = policy.resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise _Stop(PreviewStatus.FAILED, f"{host} does not resolve ({exc})") from exc
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer)
        except ValueError as exc:
            raise _Stop(PreviewStatus.REFUSED, f"{host} resolves to {answer!r}") from exc
        reason = policy.refusal(host, address)
        if reason is not None:
            raise _Stop(PreviewStatus.REFUSED, f"{host} resolves to {address}, {reason}")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise _Stop(PreviewStatus.FAILED, f"{host} has no address")
    return False, addresses


def _literal_vetted(host: str, policy: PeerPolicy) -> IPAddress | None:
    """The address `host` is written as, allowed by `policy`; None for a name. Raises
    _Stop(REFUSED) for an address the policy refuses."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return None
    reason = policy.refusal(host, literal)
    if reason is not None:
        raise _Stop(PreviewStatus.REFUSED, f"{literal} is {reason}")
    return literal


def _offline_send(
    client: httpx.Client, url: httpx.URL, policy: PeerPolicy, deadline: float, web: httpx.URL
) -> httpx.Response:
    """GET `url` from the demo's offline web server `web` instead of its host: the name is
    never resolved, and the server tells the sites apart by the Host header. An address written
    in the link is vetted as in production, so the demo refuses what a real desk refuses."""
    _literal_vetted(_host(url), policy)
    request = client.build_request(
        "GET",
        url.copy_with(scheme=web.scheme, host=web.host, port=web.port),
        headers={"Host": url.netloc.decode("ascii")},
        timeout=_seconds_left(deadline),
    )
    try:
        return client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise _Stop(PreviewStatus.FAILED, _timed_out()) from exc
    except httpx.HTTPError as exc:
        raise _Stop(PreviewStatus.FAILED, f"the demo's offline web: {exc}") from exc


def _hop_send(
    client: httpx.Client, url: httpx.URL, policy: PeerPolicy, deadline: float
) -> httpx.Response:
    """GET `url` from one of its vetted addresses; the response is streamed, to be closed."""
    is_literal, addresses = _addresses_vetted(url, policy)
    # Pinning: the request URL names the vetted address, so httpx connects to it and never
    # resolves the name again. The server still sees the original name: in the Host header
    # and, over TLS, in SNI through httpcore's `sni_hostname` extension, which is also the
    # name the certificate is verified against (ssl's server_hostname). An address literal
    # gets no SNI and its certificate is checked against the address, as in a browser.
    # https://www.python-httpx.org/advanced/extensions/#sni_hostname
    extensions: dict[str, str] = {}
    if url.scheme == "https" and not is_literal:
        extensions["sni_hostname"] = _host(url)
    failures: list[str] = []
    for address in addresses:
        request = client.build_request(
            "GET",
            url.copy_with(host=str(address)),
            headers={"Host": url.netloc.decode("ascii")},
            extensions=extensions,
            timeout=_seconds_left(deadline),
        )
        try:
            return client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise _Stop(PreviewStatus.FAILED, _timed_out()) from exc
        except httpx.ConnectError as exc:
            # Includes TLS failures (a certificate for another name): try the next address.
            failures.append(f"{address}: {exc}")
        except httpx.HTTPError as exc:
            raise _Stop(PreviewStatus.FAILED, f"{_host(url)}: {exc}") from exc
    raise _Stop(PreviewStatus.FAILED, f"could not connect to {_host(url)} ({'; '.join(failures)})")


def _page_read(
    url: str, final: httpx.URL, response: httpx.Response, deadline: float
) -> FetchedPreview:
    if not 200 <= response.status_code < 300:
        raise _Stop(PreviewStatus.FAILED, f"the site answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "text/html":
        raise _Stop(PreviewStatus.FAILED, f"not an HTML page ({media_type or 'no content type'})")
    limit = settings.LINKS_MAX_BYTES
    body, truncated = _body_read(response, limit=limit, deadline=deadline)
    title, description = page_summary(body, charset=response.charset_encoding)
    if truncated and not title:
        raise _Stop(PreviewStatus.FAILED, f"no title in the first {limit // 1024} KiB of the page")
    return FetchedPreview(
        url=url,
        final_url=str(final),
        domain=_host(final),
        title=title,
        description=description,
        status=PreviewStatus.OK,
        error="",
    )


def _body_read(response: httpx.Response, *, limit: int, deadline: float) -> tuple[bytes, bool]:
    """At most `limit` bytes of the (decompressed) body, and whether there was more."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    decoder = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        # 32 + MAX_WBITS: a gzip or zlib header, detected. Output is bounded per chunk below.
        decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)
    elif encoding not in ("", "identity"):
        raise _Stop(PreviewStatus.FAILED, f"the page is compressed with {encoding}")
    body = bytearray()
    try:
        for raw in response.iter_raw():
            chunk = raw if decoder is None else decoder.decompress(raw, limit + 1 - len(body))
            body += chunk
            if len(body) > limit:
                return bytes(body[:limit]), True
            _seconds_left(deadline)
    except httpx.TimeoutException as exc:
        raise _Stop(PreviewStatus.FAILED, _timed_out()) from exc
    except httpx.HTTPError as exc:
        raise _Stop(PreviewStatus.FAILED, f"the page broke off ({exc})") from exc
    except zlib.error as exc:
        raise _Stop(PreviewStatus.FAILED, f"the page does not decompress ({exc})") from exc
    return bytes(body), False


def _seconds_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Stop(PreviewStatus.FAILED, _timed_out())
    return left


def _timed_out() -> str:
    return (
        f"timed out after {settings.LINKS_TIMEOUT_SECONDS:g}s (MENTIONDESK_LINKS_TIMEOUT_SECONDS)"
    )


def _host(url: httpx.URL) -> str:
    """The host as sent: ASCII, international names in their xn-- form."""
    return url.raw_host.decode("ascii")


def _without_fragment(url: httpx.URL) -> str:
    return str(url.copy_with(fragment=None))


def _domain_of(url: str) -> str:
    try:
        return httpx.URL(url).raw_host.decode("ascii")
    except (httpx.InvalidURL, ValueError, TypeError):
        return ""


def _result(
    url: str, last: httpx.URL | None, stop: _Stop, *, domain: str | None = None
) -> FetchedPreview:
    """The preview of a fetch that `stop` ended; `last` is the URL it had got to."""
    if domain is None:
        domain = _host(last) if last is not None else _domain_of(url)
    return FetchedPreview(
        url=url,
        final_url=str(last) if last is not None else "",
        domain=domain,
        title="",
        description="",
        status=stop.status,
        error=f"{stop.status.value}: {stop.reason}",
    )
