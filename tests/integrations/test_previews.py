"""Link previews: links in posts are fetched server-side for title + domain, and nothing a
post's author writes can make the desk's server request a loopback, private, link-local or
metadata address, or read without bounds.

Real pages come from a werkzeug server on 127.0.0.1, which the production policy refuses. The
tests that need it (HTML parsing, redirects, limits) swap `fetch.peer_policy` for
`LocalPeers`: their own `*.test` names resolve to 127.0.0.1 and only those names may use it.
The SSRF tests keep the production policy, or change only the resolver; none sets
LINKS_ALLOW_PRIVATE."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from mentiondesk import __version__
from mentiondesk.channels.models import Post
from mentiondesk.integrations.previews import fetch, selectors, services, tasks
from mentiondesk.integrations.previews.choices import PreviewStatus
from mentiondesk.integrations.previews.models import LinkPreview

ARTICLE = """<!doctype html>
<html><head>
  <meta charset="utf-8">
  <title>  Deploy   freeze &amp; the
     incident  </title>
  <meta property="og:description" content="What broke on Tuesday, and what we changed.">
  <script>document.title = "never run"; fetch("/tracker");</script>
</head>
<body><svg><title>an icon</title></svg><h1>Incident review</h1></body></html>
"""

# Local server


@dataclass(frozen=True)
class Seen:
    path: str
    host: str
    headers: dict[str, str]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class PageServer:
    """Pages on 127.0.0.1 at paths chosen by each test; records every request it gets (and,
    over TLS, every SNI name)."""

    tls: ssl.SSLContext | None = None
    routes: dict[str, Callable[[Request], Response]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def start(self) -> PageServer:
        if self.tls is not None:
            self.tls.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
        self._server = ThreadedWSGIServer(
            "127.0.0.1", 0, self._app, handler=_QuietHandler, ssl_context=self.tls
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(
            Seen(path=request.path, host=request.host, headers=dict(request.headers))
        )
        handler = self.routes.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    @property
    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]

    def page(self, path: str, body: str | bytes = ARTICLE, **kwargs: Any) -> None:
        kwargs.setdefault("content_type", "text/html; charset=utf-8")
        self.routes[path] = lambda _request: Response(body, **kwargs)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = lambda _request: Response(
            "", status=status, headers={"Location": location}
        )

    def stream(self, path: str, chunks: Callable[[], Iterator[bytes]], **headers: str) -> None:
        """A body of unknown length (chunked), produced as the client reads it."""
        headers.setdefault("Content-Type", "text/html")
        self.routes[path] = lambda _request: Response(
            chunks(), headers=headers, direct_passthrough=True
        )


@pytest.fixture
def pages() -> Iterator[PageServer]:
    server = PageServer().start()
    try:
        yield server
    finally:
        server.stop()


# The test seam


@dataclass
class LocalPeers:
    """A test-only PeerPolicy: the `local` names resolve to 127.0.0.1 and may be fetched
    there, `other` names resolve as given; any other name resolves through the system (only
    `localhost` is used). Every address but a local name's 127.0.0.1 is judged by the
    production `public_only`. `resolved` records each lookup."""

    local: Sequence[str] = ("site.test", "short.test")
    other: dict[str, list[str]] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None
    resolved: list[str] = field(default_factory=list)

    def resolve(self, host: str, port: int) -> list[str]:
        self.resolved.append(host)
        if host in self.local:
            return ["127.0.0.1"]
        if host in self.other:
            return self.other[host]
        return fetch.system_resolve(host, port)

    def refusal(self, host: str, address: fetch.IPAddress) -> str | None:
        if host in self.local and address == ipaddress.ip_address("127.0.0.1"):
            return None
        return fetch.public_only(host, address)

    def policy(self) -> fetch.PeerPolicy:
        return fetch.PeerPolicy(resolve=self.resolve, refusal=self.refusal, tls=self.tls)


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> LocalPeers:
    """site.test and short.test served from 127.0.0.1 (see LocalPeers)."""
    peers = LocalPeers()
    monkeypatch.setattr(fetch, "peer_policy", peers.policy())
    return peers


def resolver_only(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    """Production refusal, but names resolve to `answers` instead of the DNS."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in this test")
        return answers[host]

    monkeypatch.setattr(fetch, "peer_policy", fetch.PeerPolicy(resolve=resolve))


def refused(preview: fetch.FetchedPreview, reason: str) -> bool:
    return preview.status == PreviewStatus.REFUSED and preview.error == f"refused: {reason}"


# SSRF: the production policy


def test_production_policy_is_the_default() -> None:
    policy = fetch.peer_policy
    assert policy == fetch.PeerPolicy()
    assert policy.resolve is fetch.system_resolve
    assert policy.refusal is fetch.public_only
    assert policy.tls is None
    assert settings.LINKS_ALLOW_PRIVATE is False


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/", "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/", "localhost resolves to"),  # 127.0.0.1 or ::1, a loopback…
        ("http://[::1]:{port}/", "::1 is a loopback address"),
        (
            "http://[::ffff:127.0.0.1]:{port}/",
            "::ffff:7f00:1 is an IPv4-mapped form of 127.0.0.1, a loopback address",
        ),
        ("http://2130706433:{port}/", "2130706433 is not written as a plain IPv4 address"),
        ("http://0177.0.0.1:{port}/", "not a valid URL"),
        ("http://0x7f000001:{port}/", "0x7f000001 is not written as a plain IPv4 address"),
        ("http://0x7f.1:{port}/", "0x7f.1 is not written as a plain IPv4 address"),
        ("http://127.1:{port}/", "127.1 is not written as a plain IPv4 address"),
        ("http://127.0.0.1.:{port}/", "the host 127.0.0.1. ends with a dot"),
        ("http://localhost.:{port}/", "the host localhost. ends with a dot"),
        ("http://user:pass@127.0.0.1:{port}/", "the URL carries a user name or password"),
        (
            "http://[2002:7f00:1::]:{port}/",
            "2002:7f00:1:: is a 6to4 form of 127.0.0.1, a loopback address",
        ),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is an unspecified address"),
    ],
)
def test_loopback_in_any_spelling_is_refused_without_a_request(
    pages: PageServer, url: str, reason: str
) -> None:
    pages.page("/")
    preview = fetch.link_fetch(url.format(port=pages.port))

    assert preview.status == PreviewStatus.REFUSED
    assert preview.error.startswith(f"refused: {reason}")
    if "localhost resolves" in reason:
        assert preview.error.endswith(", a loopback address")
    assert pages.requests == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a cloud metadata address",
        ),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://169.254.1.1/", "169.254.1.1 is a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://172.16.5.4/", "172.16.5.4 is a private address"),
        ("http://192.168.0.1/", "192.168.0.1 is a private address"),
        ("http://[fd12:3456::1]/", "fd12:3456::1 is a private address"),
        ("http://100.64.0.1/", "100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
        ("http://198.18.0.1/", "198.18.0.1 is not a public address"),
        (
            "http://[64:ff9b::a00:1]/",
            "64:ff9b::a00:1 is a NAT64 form of 10.0.0.1, a private address",
        ),
        ("ftp://example.com/", "only http and https links are fetched, not ftp:"),
        ("file:///etc/passwd", "only http and https links are fetched, not file:"),
        ("javascript:alert(1)", "only http and https links are fetched, not javascript:"),
        ("gopher://127.0.0.1:6379/_INFO", "only http and https links are fetched, not gopher:"),
        ("http:///etc/passwd", "the URL has no host"),
    ],
)
def test_non_public_addresses_and_other_schemes_are_refused(url: str, reason: str) -> None:
    preview = fetch.link_fetch(url)

    assert refused(preview, reason), preview.error
    assert preview.title == ""


def test_name_resolving_to_a_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver_only(monkeypatch, {"intranet.example.com": ["10.0.0.5"]})

    preview = fetch.link_fetch("https://intranet.example.com/wiki")

    assert refused(preview, "intranet.example.com resolves to 10.0.0.5, a private address")
    assert preview.domain == "intranet.example.com"


def test_name_is_refused_if_any_of_its_addresses_is_not_public(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A rebinding setup answers with a public address and a private one at once.
    resolver_only(monkeypatch, {"mixed.example.com": ["93.184.215.14", "127.0.0.1"]})

    preview = fetch.link_fetch("http://mixed.example.com/")

    assert refused(preview, "mixed.example.com resolves to 127.0.0.1, a loopback address")


def test_name_resolving_to_metadata_over_ipv6_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver_only(monkeypatch, {"imds.example.com": ["fd00:ec2::254"]})

    preview = fetch.link_fetch("http://imds.example.com/latest/meta-data/")

    assert refused(preview, "imds.example.com resolves to fd00:ec2::254, a cloud metadata address")


@pytest.mark.parametrize(
    ("address", "refusal", "with_allow_private"),
    [
        ("93.184.215.14", None, None),
        ("2606:4700:4700::1111", None, None),
        ("::ffff:93.184.215.14", None, None),
        ("64:ff9b::5db8:d70e", None, None),  # NAT64 of 93.184.215.14 (DNS64 networks)
        ("2002:5db8:d70e::1", None, None),  # 6to4 of 93.184.215.14
        ("2002:a00:5::1", "a 6to4 form of 10.0.0.5, a private address", None),
        ("10.0.0.5", "a private address", None),
        ("100.64.0.1", "a shared (carrier-grade NAT) address", None),
        ("fd12::1", "a private address", None),
        ("127.0.0.1", "a loopback address", "a loopback address"),
        ("169.254.169.254", "a cloud metadata address", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address", "a cloud metadata address"),
        ("192.0.0.192", "a cloud metadata address", "a cloud metadata address"),
        ("192.0.0.8", "not a public address", "not a public address"),
        ("fec0::1", "not a public address", "not a public address"),
        ("::127.0.0.1", "a reserved address", "a reserved address"),
        ("fe80::1%eth0", "a scoped address", "a scoped address"),
    ],
)
def test_address_refusal_and_what_allow_private_opens(
    address: str, refusal: str | None, with_allow_private: str | None
) -> None:
    # LINKS_ALLOW_PRIVATE opens private networks only, never loopback or metadata. Checked on
    # the function: no test fetches with the setting on.
    ip = ipaddress.ip_address(address)
    assert fetch.address_refusal(ip) == refusal
    assert fetch.address_refusal(ip, allow_private=True) == with_allow_private


def test_redirect_to_loopback_is_refused_and_never_requested(
    pages: PageServer, local: LocalPeers
) -> None:
    secret = f"http://127.0.0.1:{pages.port}/admin"
    pages.redirect("/go", secret)
    pages.page("/admin", "<title>internal admin</title>")

    preview = fetch.link_fetch(f"http://short.test:{pages.port}/go")

    assert refused(preview, f"redirected to {secret}; 127.0.0.1 is a loopback address")
    assert preview.final_url == secret
    assert pages.paths == ["/go"]


def test_redirect_to_localhost_by_name_is_refused(pages: PageServer, local: LocalPeers) -> None:
    pages.redirect("/go", f"http://localhost:{pages.port}/admin")

    preview = fetch.link_fetch(f"http://short.test:{pages.port}/go")

    assert preview.status == PreviewStatus.REFUSED
    assert "localhost resolves to" in preview.error
    assert preview.error.endswith(", a loopback address")
    assert pages.paths == ["/go"]


def test_redirect_to_cloud_metadata_is_refused(pages: PageServer, local: LocalPeers) -> None:
    pages.redirect("/go", "http://169.254.169.254/latest/meta-data/iam/security-credentials/")

    preview = fetch.link_fetch(f"http://short.test:{pages.port}/go")

    assert refused(
        preview,
        "redirected to http://169.254.169.254/latest/meta-data/iam/security-credentials/; "
        "169.254.169.254 is a cloud metadata address",
    )
    assert pages.paths == ["/go"]


def test_redirect_to_a_name_resolving_privately_is_refused(
    pages: PageServer, local: LocalPeers
) -> None:
    local.other["wiki.example.com"] = ["192.168.1.20"]
    pages.redirect("/go", "https://wiki.example.com/internal")

    preview = fetch.link_fetch(f"http://short.test:{pages.port}/go")

    assert preview.status == PreviewStatus.REFUSED
    assert preview.error.endswith("wiki.example.com resolves to 192.168.1.20, a private address")
    assert preview.domain == "wiki.example.com"


def test_redirect_to_another_scheme_is_refused(pages: PageServer, local: LocalPeers) -> None:
    pages.redirect("/go", "file:///etc/passwd")

    preview = fetch.link_fetch(f"http://short.test:{pages.port}/go")

    assert refused(
        preview,
        "redirected to file:///etc/passwd; only http and https links are fetched, not file:",
    )


def test_redirect_loop_fails(pages: PageServer, local: LocalPeers) -> None:
    pages.redirect("/a", "/b")
    pages.redirect("/b", f"http://site.test:{pages.port}/a#again")

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/a")

    assert preview.status == PreviewStatus.FAILED
    assert preview.error == (f"failed: redirect loop back to http://site.test:{pages.port}/a#again")
    assert pages.paths == ["/a", "/b"]


def test_more_redirects_than_allowed_fail(
    pages: PageServer, local: LocalPeers, settings: Any
) -> None:
    assert settings.LINKS_MAX_REDIRECTS == 5
    for n in range(10):
        pages.redirect(f"/r{n}", f"/r{n + 1}", status=301 if n % 2 else 307)

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/r0")

    assert preview.status == PreviewStatus.FAILED
    assert preview.error == "failed: more than 5 redirects"
    assert pages.paths == ["/r0", "/r1", "/r2", "/r3", "/r4", "/r5"]


def test_redirect_without_location_fails(pages: PageServer, local: LocalPeers) -> None:
    pages.routes["/go"] = lambda _request: Response("", status=302)

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/go")

    assert preview.error == "failed: site.test answered HTTP 302 without a Location"


# Limits: size, time, content type


def test_endless_page_is_read_only_up_to_the_limit(pages: PageServer, local: LocalPeers) -> None:
    sent = [0]

    def endless() -> Iterator[bytes]:
        yield b"<html><head><style>"
        while not pages.stopping.is_set():
            sent[0] += 65536
            yield b" " * 65536

    pages.stream("/huge", endless)
    started = time.monotonic()

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/huge")

    assert preview.status == PreviewStatus.FAILED
    assert preview.error == "failed: no title in the first 512 KiB of the page"
    assert time.monotonic() - started < 2  # stopped at the limit, not at the timeout


def test_big_page_with_its_title_in_the_head_is_fine(pages: PageServer, local: LocalPeers) -> None:
    padding = "<!-- " + "x" * (2 * 1024 * 1024) + " -->"
    pages.page("/big", f"<html><head><title>Big page</title></head><body>{padding}</body>")

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/big")

    assert preview.status == PreviewStatus.OK
    assert preview.title == "Big page"


def test_gzip_bomb_is_decompressed_only_up_to_the_limit(
    pages: PageServer, local: LocalPeers
) -> None:
    bomb = gzip.compress(b"<html><head><style>" + b" " * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100 * 1024
    pages.page("/bomb", bomb, headers={"Content-Encoding": "gzip"})

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/bomb")

    assert preview.error == "failed: no title in the first 512 KiB of the page"


def test_gzip_page_is_read(pages: PageServer, local: LocalPeers) -> None:
    pages.page("/gz", gzip.compress(ARTICLE.encode()), headers={"Content-Encoding": "gzip"})

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/gz")

    assert preview.status == PreviewStatus.OK
    assert preview.title == "Deploy freeze & the incident"


def test_unknown_content_encoding_fails(pages: PageServer, local: LocalPeers) -> None:
    pages.page("/br", b"\x1b\x00", headers={"Content-Encoding": "br"})

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/br")

    assert preview.error == "failed: the page is compressed with br"


def test_server_slow_to_answer_times_out(
    pages: PageServer, local: LocalPeers, settings: Any
) -> None:
    settings.LINKS_TIMEOUT_SECONDS = 1.0

    def slow(_request: Request) -> Response:
        pages.stopping.wait(5)
        return Response(ARTICLE, content_type="text/html")

    pages.routes["/slow"] = slow
    started = time.monotonic()

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/slow")

    assert time.monotonic() - started < 1.5
    assert preview.status == PreviewStatus.FAILED
    assert preview.error == "failed: timed out after 1s (MENTIONDESK_LINKS_TIMEOUT_SECONDS)"


def test_page_dripping_in_slowly_times_out_on_the_whole_fetch(
    pages: PageServer, local: LocalPeers, settings: Any
) -> None:
    # Each read returns quickly, so only a limit on the whole fetch stops this.
    settings.LINKS_TIMEOUT_SECONDS = 1.0

    def drip() -> Iterator[bytes]:
        yield b"<html><head>"
        while not pages.stopping.wait(0.1):
            yield b" "

    pages.stream("/drip", drip)
    started = time.monotonic()

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/drip")

    assert time.monotonic() - started < 1.5
    assert preview.error == "failed: timed out after 1s (MENTIONDESK_LINKS_TIMEOUT_SECONDS)"


def test_slow_redirect_chain_counts_against_one_timeout(
    pages: PageServer, local: LocalPeers, settings: Any
) -> None:
    settings.LINKS_TIMEOUT_SECONDS = 1.0

    def slow_redirect(request: Request) -> Response:
        pages.stopping.wait(0.4)
        return Response("", status=302, headers={"Location": request.path + "x"})

    for path in ("/s", "/sx", "/sxx", "/sxxx"):
        pages.routes[path] = slow_redirect

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/s")

    assert preview.error.startswith("failed: timed out after 1s")
    assert len(pages.requests) <= 3


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("application/pdf", "application/pdf"),
        ("image/svg+xml", "image/svg+xml"),
        ("application/json; charset=utf-8", "application/json"),
        ("", "no content type"),
    ],
)
def test_non_html_is_not_read(
    pages: PageServer, local: LocalPeers, content_type: str, shown: str
) -> None:
    pages.routes["/file"] = lambda _request: Response(
        b"%PDF-1.7 <title>not a title</title>", headers={"Content-Type": content_type}
    )

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/file")

    assert preview.status == PreviewStatus.FAILED
    assert preview.error == f"failed: not an HTML page ({shown})"
    assert preview.title == ""
    assert preview.domain == "site.test"


def test_http_error_fails_with_the_status(pages: PageServer, local: LocalPeers) -> None:
    preview = fetch.link_fetch(f"http://site.test:{pages.port}/missing")

    assert preview.error == "failed: the site answered HTTP 404"


def test_unknown_name_fails(local: LocalPeers) -> None:
    local.other["gone.test"] = []

    preview = fetch.link_fetch("http://gone.test/")

    assert preview.error == "failed: gone.test has no address"


# Happy path against the local server


def test_title_description_and_domain_after_a_redirect(
    pages: PageServer, local: LocalPeers
) -> None:
    pages.redirect("/abc123", f"http://site.test:{pages.port}/2026/incident?utm=x", status=301)
    pages.page("/2026/incident")

    preview = fetch.link_fetch(f"http://short.test:{pages.port}/abc123")

    assert preview.status == PreviewStatus.OK, preview.error
    assert preview.error == ""
    assert preview.title == "Deploy freeze & the incident"  # not the SVG's, script not run
    assert preview.description == "What broke on Tuesday, and what we changed."
    assert preview.url == f"http://short.test:{pages.port}/abc123"
    assert preview.final_url == f"http://site.test:{pages.port}/2026/incident?utm=x"
    assert preview.domain == "site.test"
    assert pages.paths == ["/abc123", "/2026/incident"]  # nothing from the script


def test_requests_go_to_the_vetted_address_with_the_name_in_host(
    pages: PageServer, local: LocalPeers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pinned connection: httpx gets the address, so it never looks the name up again
    # (site.test exists in no DNS); the server still sees the name.
    looked_up: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def spy(host: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    pages.redirect("/go", "/article")
    pages.page("/article")

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/go")

    assert preview.status == PreviewStatus.OK
    assert local.resolved == ["site.test", "site.test"]  # once per hop, by the policy
    assert "site.test" not in looked_up
    assert set(looked_up) <= {"127.0.0.1"}
    assert [seen.host for seen in pages.requests] == [f"site.test:{pages.port}"] * 2
    user_agent = pages.requests[0].headers["User-Agent"]
    assert user_agent == f"mentiondesk-link-preview/{__version__}"


def test_cookies_are_neither_kept_nor_sent(pages: PageServer, local: LocalPeers) -> None:
    def login(_request: Request) -> Response:
        response = Response("", status=302, headers={"Location": "/article"})
        response.set_cookie("session", "s3cret", domain="site.test")
        response.set_cookie("plain", "1")
        return response

    pages.routes["/login"] = login
    pages.page("/article")

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/login")

    assert preview.status == PreviewStatus.OK
    assert "Cookie" not in pages.requests[1].headers


def test_proxy_settings_in_the_environment_are_ignored(
    pages: PageServer, local: LocalPeers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would resolve the name itself, after our checks.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://192.0.2.1:3128")
    pages.page("/article")

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/article")

    assert preview.status == PreviewStatus.OK


def test_og_title_wins_and_text_is_cleaned(pages: PageServer, local: LocalPeers) -> None:
    pages.page(
        "/og",
        """<html><head><title>Site | Long title</title>
        <meta property="og:title" content="Short \u202etxt.exe title">
        <meta name="description" content="Plain  description&#10;on two lines">
        </head><body><title>not this</title></body></html>""",
    )

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/og")

    assert preview.title == "Short txt.exe title"  # right-to-left override dropped
    assert preview.description == "Plain description on two lines"


def test_page_without_title_is_ok_with_the_domain_only(
    pages: PageServer, local: LocalPeers
) -> None:
    pages.page("/bare", "<p>hello</p>")

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/bare")

    assert (preview.status, preview.title, preview.domain) == (PreviewStatus.OK, "", "site.test")


def test_declared_charset_is_used(pages: PageServer, local: LocalPeers) -> None:
    pages.page(
        "/latin",
        "<title>Café déjà vu</title>".encode("iso-8859-1"),
        content_type="text/html; charset=ISO-8859-1",
    )

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/latin")

    assert preview.title == "Café déjà vu"


def test_broken_html_does_not_break_the_fetch(pages: PageServer, local: LocalPeers) -> None:
    pages.page("/broken", "<title>Still here<</title><meta content=><!--x<![CDATA[ <a href='")

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/broken")

    assert preview.status == PreviewStatus.OK
    assert preview.title == "Still here<"


# HTTPS: the pinned address keeps SNI and certificate checks on the name


@dataclass(frozen=True)
class Certificates:
    ca_pem: str
    cert_file: Path
    key_file: Path


def certificates_for(name: str, directory: Path) -> Certificates:
    """A throwaway CA and a certificate for `name` signed by it."""
    pytest.importorskip("cryptography", reason="cryptography makes the test certificates")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def build(subject: str, issuer: str, key: Any, signer: Any, *, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            ).add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build("mentiondesk test CA", "mentiondesk test CA", ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(name, "mentiondesk test CA", key, ca_key, ca=False)
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    return Certificates(ca_pem=ca_pem, cert_file=cert_file, key_file=key_file)


@pytest.fixture
def secure_pages(tmp_path: Path) -> Iterator[tuple[PageServer, ssl.SSLContext]]:
    """Pages over TLS with a certificate for secure.test only, and a client context that
    trusts the certificate's CA (and nothing else)."""
    certificates = certificates_for("secure.test", tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificates.cert_file, certificates.key_file)
    server = PageServer(tls=server_context).start()
    try:
        yield server, ssl.create_default_context(cadata=certificates.ca_pem)
    finally:
        server.stop()


def test_https_sends_the_name_in_sni_and_host_while_connecting_to_the_address(
    secure_pages: tuple[PageServer, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    pages, trust = secure_pages
    peers = LocalPeers(local=("secure.test",), tls=trust)
    monkeypatch.setattr(fetch, "peer_policy", peers.policy())
    pages.page("/")

    preview = fetch.link_fetch(f"https://secure.test:{pages.port}/")

    assert preview.status == PreviewStatus.OK, preview.error
    assert preview.title == "Deploy freeze & the incident"
    assert pages.sni == ["secure.test"]
    assert pages.requests[0].host == f"secure.test:{pages.port}"


def test_https_certificate_is_checked_against_the_name_not_the_address(
    secure_pages: tuple[PageServer, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    # other.test resolves to the same address, whose certificate is for secure.test only.
    pages, trust = secure_pages
    peers = LocalPeers(local=("secure.test", "other.test"), tls=trust)
    monkeypatch.setattr(fetch, "peer_policy", peers.policy())
    pages.page("/")

    preview = fetch.link_fetch(f"https://other.test:{pages.port}/")

    assert preview.status == PreviewStatus.FAILED
    assert preview.error.startswith("failed: could not connect to other.test")
    assert "certificate verify failed" in preview.error
    assert "other.test" in pages.sni
    assert pages.requests == []


def test_https_with_the_default_trust_refuses_an_unknown_ca(
    secure_pages: tuple[PageServer, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    pages, _trust = secure_pages
    monkeypatch.setattr(fetch, "peer_policy", LocalPeers(local=("secure.test",)).policy())

    preview = fetch.link_fetch(f"https://secure.test:{pages.port}/")

    assert preview.status == PreviewStatus.FAILED
    assert "certificate verify failed" in preview.error
    assert pages.requests == []


# Services: the cache, expanded_url, posts


def post_with(urls: list[Any]) -> Post:
    return Post.objects.create(
        remote_id="1800000000000000001",
        direction=Post.Direction.INBOUND,
        author_remote_id="42",
        author_username="requester",
        text="@Driftwood is this you? https://t.co/abc",
        created_at=timezone.now(),
        conversation_id="1800000000000000001",
        urls=urls,
    )


@pytest.mark.django_db
def test_preview_is_stored_and_served_from_the_cache_for_a_day(
    pages: PageServer, local: LocalPeers
) -> None:
    pages.page("/article")
    url = f"http://site.test:{pages.port}/article"

    first = services.link_preview_get(url=url)
    second = services.link_preview_get(url=url)

    assert first.pk is not None and second.pk == first.pk
    assert second.status == LinkPreview.Status.OK
    assert (second.title, second.domain) == ("Deploy freeze & the incident", "site.test")
    assert pages.paths == ["/article"]

    LinkPreview.objects.filter(pk=first.pk).update(
        fetched_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    pages.page("/article", "<title>Updated</title>")
    third = services.link_preview_get(url=url)

    assert third.pk == first.pk
    assert third.title == "Updated"
    assert pages.paths == ["/article", "/article"]


@pytest.mark.django_db
def test_expanded_url_is_visited_instead_of_the_short_link(
    pages: PageServer, local: LocalPeers
) -> None:
    pages.page("/article")
    expanded = f"http://site.test:{pages.port}/article"

    preview = services.link_preview_get(url="https://t.co/abc", expanded_url=expanded)

    assert preview.url == expanded
    assert preview.status == LinkPreview.Status.OK
    assert local.resolved == ["site.test"]  # t.co never looked up
    assert LinkPreview.objects.get().url == expanded


@pytest.mark.django_db
def test_refusal_is_stored_with_its_reason_and_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["10.0.0.5"]

    monkeypatch.setattr(fetch, "peer_policy", fetch.PeerPolicy(resolve=resolve))

    preview = services.link_preview_get(url="https://t.co/x", expanded_url="http://files.example/")
    again = services.link_preview_get(url="https://t.co/x", expanded_url="http://files.example/")

    assert preview.status == LinkPreview.Status.REFUSED
    assert preview.error == "refused: files.example resolves to 10.0.0.5, a private address"
    assert again.pk == preview.pk
    assert lookups == ["files.example"]


@pytest.mark.django_db
def test_disabled_previews_fetch_nothing(
    pages: PageServer, local: LocalPeers, settings: Any
) -> None:
    settings.LINKS_ENABLED = False
    pages.page("/article")

    preview = services.link_preview_get(url=f"http://site.test:{pages.port}/article")

    assert preview.pk is None
    assert preview.status == LinkPreview.Status.REFUSED
    assert preview.error == "refused: link previews are off (MENTIONDESK_LINKS_ENABLED=0)"
    assert pages.requests == []
    assert not LinkPreview.objects.exists()


@pytest.mark.django_db
def test_post_links_expand_task_previews_every_link_of_the_post(
    pages: PageServer, local: LocalPeers
) -> None:
    pages.page("/article")
    pages.page("/other", "<title>Other page</title>")
    article = f"http://site.test:{pages.port}/article"
    post = post_with(
        [
            {"url": "https://t.co/a", "expanded_url": article, "display_url": "site.test/art…"},
            {"url": "https://t.co/b", "expanded_url": article, "display_url": "site.test/art…"},
            {"url": f"http://short.test:{pages.port}/other", "expanded_url": "", "display_url": ""},
            {"url": "https://t.co/c", "expanded_url": "http://10.0.0.9/", "display_url": ""},
            {"expanded_url": "https://no-url.example/"},
            "not an entry",
        ]
    )

    tasks.post_links_expand.enqueue(post_id=post.pk)

    stored = {p.url: p for p in LinkPreview.objects.all()}
    assert set(stored) == {article, f"http://short.test:{pages.port}/other", "http://10.0.0.9/"}
    assert stored[article].title == "Deploy freeze & the incident"
    assert stored[f"http://short.test:{pages.port}/other"].title == "Other page"
    assert stored["http://10.0.0.9/"].error == "refused: 10.0.0.9 is a private address"
    assert pages.paths.count("/article") == 1

    shown = selectors.link_previews_for_post(post=post)
    assert set(shown) == {
        "https://t.co/a",
        "https://t.co/b",
        f"http://short.test:{pages.port}/other",
        "https://t.co/c",
    }
    assert shown["https://t.co/b"].title == "Deploy freeze & the incident"
    # Under the post on the ticket page: the pages fetched, once each, in the links' order.
    under = selectors.link_previews_shown(posts=[post])
    assert [p.url for p in under[post.pk]] == [article, f"http://short.test:{pages.port}/other"]


@pytest.mark.django_db
def test_post_without_links_fetches_nothing(pages: PageServer, local: LocalPeers) -> None:
    assert services.post_links_expand(post=post_with([])) == []
    assert pages.requests == []


def test_page_stalling_after_its_headers_still_ends_on_time(
    pages: PageServer, local: LocalPeers, settings: Any
) -> None:
    # Headers late in the budget, then silence: a read timeout set when the request started
    # would let this run to almost twice the limit.
    settings.LINKS_TIMEOUT_SECONDS = 1.0

    def stall() -> Iterator[bytes]:
        yield b"<html><head>"
        pages.stopping.wait(5)
        yield b"<title>too late</title>"

    def late(_request: Request) -> Response:
        pages.stopping.wait(0.8)
        return Response(stall(), content_type="text/html", direct_passthrough=True)

    pages.routes["/late"] = late
    started = time.monotonic()

    preview = fetch.link_fetch(f"http://site.test:{pages.port}/late")

    assert time.monotonic() - started < 1.3
    assert preview.error == "failed: timed out after 1s (MENTIONDESK_LINKS_TIMEOUT_SECONDS)"


def test_slow_dns_counts_against_the_timeout(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.LINKS_TIMEOUT_SECONDS = 1.0
    answered = threading.Event()

    def slow_resolve(host: str, port: int) -> list[str]:
        answered.wait(3)
        return ["127.0.0.1"]  # refused anyway: the late thread must not connect anywhere

    monkeypatch.setattr(fetch, "peer_policy", fetch.PeerPolicy(resolve=slow_resolve))
    started = time.monotonic()

    preview = fetch.link_fetch("http://slow-dns.example.com/")

    answered.set()
    assert time.monotonic() - started < 1.3
    assert preview.error == "failed: timed out after 1s (MENTIONDESK_LINKS_TIMEOUT_SECONDS)"
    assert preview.domain == "slow-dns.example.com"


def test_international_domain_is_shown_in_its_ascii_form(
    pages: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Look-alike letters (a Cyrillic a in "apple") cannot pass for a familiar domain in xn--
    # form.
    peers = LocalPeers(local=("xn--bcher-kva.test",))
    monkeypatch.setattr(fetch, "peer_policy", peers.policy())
    pages.page("/")

    preview = fetch.link_fetch(f"http://bücher.test:{pages.port}/")

    assert preview.status == PreviewStatus.OK
    assert preview.domain == "xn--bcher-kva.test"
    assert pages.requests[0].host == f"xn--bcher-kva.test:{pages.port}"
