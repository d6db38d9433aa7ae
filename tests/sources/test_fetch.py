"""The guarded client against a real loopback server: limits hold, validators round-trip, SSRF is refused."""

from __future__ import annotations

import ipaddress

import pytest

from newsbrief.errors import ConfigError
from newsbrief.sources.fetch import (
    USER_AGENT,
    AllowList,
    FetchError,
    FetchLimits,
    GuardedClient,
    refused_reason,
)
from tests.http_server import LocalServer

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
FAST = FetchLimits(connect_timeout=2, read_timeout=0.5, total_timeout=1.5, max_bytes=256 * 1024, max_redirects=3)


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def client():
    with GuardedClient(FAST, allow=["127.0.0.1"]) as c:
        yield c


def test_plain_fetch_names_the_project_and_decodes_gzip(server, client):
    url = server.add("/gz.xml", RSS, gzip=True)
    result = client.get(url)
    assert result.status == 200 and result.body == RSS
    _, headers = server.requests[-1]
    assert headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("newsbrief/")
    assert "gzip" in headers["accept-encoding"]


def test_etag_round_trip_gives_304(server, client):
    url = server.add("/etag.xml", RSS, etag='"v1"', last_modified="Mon, 03 Apr 2023 01:02:03 GMT")
    first = client.get(url)
    assert first.etag == '"v1"' and first.body == RSS
    second = client.get(url, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.body == b""


def test_last_modified_round_trip_gives_304(server, client):
    url = server.add("/lm.xml", RSS, last_modified="Mon, 03 Apr 2023 01:02:03 GMT")
    first = client.get(url)
    assert client.get(url, last_modified=first.last_modified).status == 304


@pytest.mark.parametrize("status", [404, 500, 503])
def test_error_status_is_reported_with_the_code(server, client, status):
    url = server.add(f"/status{status}", b"oops", status=status, headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as err:
        client.get(url)
    assert err.value.kind == f"http_{status}" and str(status) in str(err.value)
    assert url in str(err.value)


def test_server_that_never_answers_times_out(server, client):
    url = server.hang("/hang")
    with pytest.raises(FetchError) as err:
        client.get(url)
    assert err.value.kind == "timeout"


def test_slow_drip_is_cut_by_the_total_deadline(server, client):
    url = server.slow_drip("/drip", interval=0.1)
    with pytest.raises(FetchError) as err:
        client.get(url)
    assert err.value.kind == "timeout" and "deadline" in err.value.reason


def test_header_drip_ends_at_the_total_deadline_with_that_reason(server, client):
    """Each header byte arrives inside the read timeout, so only a connect-to-last-byte deadline ends it."""
    import time

    url = server.header_drip("/header-drip", interval=0.1)
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        client.get(url)
    took = time.monotonic() - started
    assert err.value.kind == "timeout" and "deadline of 1.5 s exceeded" in err.value.reason, err.value.reason
    assert took < FAST.total_timeout + 0.5, f"the fetch ran {took:.1f} s against a {FAST.total_timeout} s deadline"


@pytest.mark.parametrize("declare", [False, True])
def test_endless_body_is_cut_by_the_byte_cap(server, client, declare):
    url = server.endless(f"/huge{int(declare)}", declare_length=declare)
    with pytest.raises(FetchError) as err:
        client.get(url)
    assert err.value.kind == "too_large"


def test_gzip_bomb_is_cut_by_the_cap_on_decoded_bytes(server, client):
    """The bomb is compressed once by the server (not per request), so only the client's cap decides."""
    url = server.gzip_bomb("/bomb.gz")
    with pytest.raises(FetchError) as err:
        client.get(url)
    assert err.value.kind == "too_large", err.value.reason


def test_redirects_are_followed_up_to_the_cap(server, client):
    server.add("/final.xml", RSS)
    server.redirect("/r1", server.url("/final.xml"), status=301)
    result = client.get(server.url("/r1"))
    assert result.final_url == server.url("/final.xml") and result.body == RSS
    server.redirect("/loop", server.url("/loop"))
    with pytest.raises(FetchError) as err:
        client.get(server.url("/loop"))
    assert err.value.kind == "too_many_redirects"


def test_loopback_is_refused_without_the_allow_list(server):
    url = server.add("/private.xml", RSS)
    with GuardedClient(FAST, allow=AllowList()) as strict, pytest.raises(FetchError) as err:
        strict.get(url)
    assert err.value.kind == "blocked" and "loopback" in err.value.reason
    assert "NEWSBRIEF_FETCH_ALLOW" in str(err.value)


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/private.xml",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/",
    "http://[::1]:{port}/",
    "file:///etc/passwd",
])
def test_redirect_to_a_private_address_is_refused(server, target):
    """Only the host name 'localhost' is trusted: a hop to any other internal address is checked and refused."""
    server.add("/private.xml", RSS)
    server.redirect("/to-private", target.format(port=server.port))
    with GuardedClient(FAST, allow=AllowList(["localhost"])) as c:
        assert c.get(f"http://localhost:{server.port}/private.xml").body == RSS
        with pytest.raises(FetchError) as err:
            c.get(f"http://localhost:{server.port}/to-private")
    assert err.value.kind == "blocked" and "refused" in err.value.reason


def test_allow_list_from_environment_and_cidr(server, monkeypatch):
    url = server.add("/env.xml", RSS)
    monkeypatch.setenv("NEWSBRIEF_FETCH_ALLOW", "example.org, 127.0.0.0/8")
    with GuardedClient(FAST) as c:
        assert c.get(url).body == RSS


def test_unresolvable_host_is_a_dns_failure():
    with GuardedClient(FAST) as c, pytest.raises(FetchError) as err:
        c.get("http://no-such-host.invalid/feed.xml")
    assert err.value.kind == "dns"


@pytest.mark.parametrize("address, refused", [
    ("8.8.8.8", False), ("2606:4700:4700::1111", False),
    ("127.0.0.1", True), ("10.0.0.1", True), ("192.168.1.1", True), ("172.16.0.1", True),
    ("169.254.169.254", True), ("fd00:ec2::254", True), ("100.64.0.1", True), ("0.0.0.0", True),
    ("::1", True), ("::ffff:127.0.0.1", True), ("fe80::1", True), ("224.0.0.1", True),
    ("2002:7f00:1::1", True), ("2002:c0a8:101::", True), ("2002:a00:1::", True),  # 6to4 of 127/192.168/10
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", True),  # Teredo, client 127.0.0.1
    ("2001:0:7f00:1:8000:63bf:3fff:fdd2", True),  # Teredo, server 127.0.0.1
    ("::127.0.0.1", True), ("::10.0.0.1", True), ("::ffff:10.1.2.3", True),  # IPv4-compatible and -mapped
    ("64:ff9b::7f00:1", True), ("64:ff9b::a9fe:a9fe", True), ("64:ff9b:1::c0a8:101", True),  # NAT64
])
def test_address_classification(address, refused):
    assert (refused_reason(ipaddress.ip_address(address)) is not None) is refused


def test_metadata_address_needs_an_exact_allow_entry():
    ip = ipaddress.ip_address("169.254.169.254")
    assert not AllowList(["169.254.0.0/16"]).allows_ip(ip)
    assert AllowList(["169.254.169.254"]).allows_ip(ip)


def test_a_stuck_dns_lookup_is_cut_by_the_connect_timeout(monkeypatch):
    """A resolver that never answers (a real failure mode of getaddrinfo) must not hang the fetch."""
    import socket
    import threading

    release = threading.Event()
    real = socket.getaddrinfo

    def stuck(host, *args, **kwargs):
        if host == "stuck.example":
            release.wait(10)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    try:
        with GuardedClient(FetchLimits(connect_timeout=0.3, read_timeout=0.5, total_timeout=1)) as c, \
                pytest.raises(FetchError) as err:
            c.get("http://stuck.example/feed.xml")
        assert err.value.kind == "dns" and "longer than" in err.value.reason
    finally:
        release.set()


def test_the_user_agent_is_a_setting(server, monkeypatch):
    monkeypatch.setenv("NEWSBRIEF_USER_AGENT", "newsbrief/0.1 (+https://news.example.org/about; ops@example.org)")
    url = server.add("/ua.xml", RSS)
    with GuardedClient(FAST, allow=["127.0.0.1"]) as c:
        c.get(url)
    assert server.requests[-1][1]["user-agent"] == "newsbrief/0.1 (+https://news.example.org/about; ops@example.org)"
    monkeypatch.setenv("NEWSBRIEF_USER_AGENT", "evil\r\nX-Injected: 1")
    with pytest.raises(ConfigError, match="NEWSBRIEF_USER_AGENT"):
        GuardedClient(FAST, allow=["127.0.0.1"])
