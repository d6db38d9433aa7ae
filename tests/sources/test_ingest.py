"""The ingestion stage end to end against a real loopback server: real feeds and pages, and broken ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsbrief.sources.feeds import FeedConfig
from newsbrief.sources.fetch import FetchLimits
from newsbrief.sources.ingest import ingest_feeds
from newsbrief.sources.parse_pool import ParserPool
from newsbrief.store import Article, Feed, Problem, Store
from newsbrief.stories.stage import cluster_articles
from tests.http_server import LocalServer

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
FIXTURES = DATA / "feeds" / "rss-parser-fixtures"
POOL = DATA / "feeds" / "laapy-rss-pool" / "current"
PAGES = DATA / "pages" / "cache"
LIMITS = FetchLimits(connect_timeout=2, read_timeout=1, total_timeout=2, max_bytes=2 * 1024 * 1024)
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>bomb</title><item><title>&lol9;</title><link>http://x/1</link></item></channel></rss>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>xxe</title><item><title>&xxe;</title><link>http://x/2</link></item></channel></rss>"""


def rss(items: list[tuple[str, str, str]], title: str = "Hand-made feed") -> str:
    body = "".join(f"<item><title>{t}</title><link>{link}</link><description>{d}</description>"
                   f"<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate></item>" for t, link, d in items)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared real data not found at {path.resolve()} (see ../shared/data/README.md)")
    return path


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'nb.db'}")
    yield s
    s.dispose()


def articles(store: Store) -> list[Article]:
    with store.session() as s:
        return list(s.execute(select(Article).order_by(Article.id)).scalars())


def problems(store: Store, run_key: str) -> dict[str, str]:
    with store.session() as s:
        return {p.source: p.reason for p in s.execute(select(Problem).where(Problem.run_key == run_key)).scalars()}


def run(store, feeds, run_key="r1", now=NOW, **kw):
    kw.setdefault("allow", ["127.0.0.1"])
    return ingest_feeds(store, feeds, run_key, limits=LIMITS, now=now, max_workers=4, **kw)


def test_real_rss_atom_rdf_and_non_utf8_feeds(server, store):
    files = ["guardian.rss", "heise.atom", "rss-1.rss", "hist__latin2.rss", "encoding.rss", "hist__encoding-gb2312.xml"]
    feeds = [FeedConfig(url=server.add(f"/{f}", need(FIXTURES / f).read_bytes()), name=f, fetch_pages=False,
                        max_entries=50 if f == "guardian.rss" else 100) for f in files]
    report = run(store, feeds)
    assert report.count("ok") == len(feeds), report.as_dict()["problems"]
    stored = articles(store)
    by_source: dict[str, list[Article]] = {}
    for a in stored:
        by_source.setdefault(a.source, []).append(a)
    assert {f.name for f in feeds} == set(by_source)
    assert len(by_source["guardian.rss"]) == 50  # max_entries caps the 55
    assert by_source["hist__latin2.rss"][0].title == "ZAŻÓŁĆ GĘSLĄ JAŹŃ"
    assert len(by_source["rss-1.rss"]) == 69 and all("title_only" in a.flags for a in by_source["rss-1.rss"])
    assert "Mãe de utente é a nova presidente da Raríssimas" in {a.title for a in by_source["encoding.rss"]}
    assert by_source["hist__encoding-gb2312.xml"][0].title.startswith("拟298亿元重组盛大游戏后")
    assert "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei" in {a.title for a in by_source["heise.atom"]}
    heise = next(a for a in by_source["heise.atom"] if "WildFly" in a.title)
    assert "wt_mc" not in heise.url
    assert all(a.published_at is None or a.published_at.tzinfo is not None for a in stored)
    assert all(a.source_kind == "feed" and a.run_key == "r1" for a in stored)


def test_an_unchanged_broken_feed_is_reported_again_without_parsing_it(server, store, monkeypatch):
    """A feed the parser refused keeps that body's validators: an hour later a 304 says the same refusal
    holds, so it is reported again (log, Problems, digest footer) but not parsed; fixed, it is read again."""
    url = server.add("/broken.xml", b"<rss><channel><title>t</title></channel></rss>\n<junk/>", etag='"v1"')
    feeds = [FeedConfig(url=url, name="broken", fetch_pages=False)]
    first = run(store, feeds, "r1", parse_workers=0)
    assert first.count("failed") == 1
    reason = first.failed[0].reason
    calls = []
    original = ParserPool.parse
    monkeypatch.setattr(ParserPool, "parse", lambda self, *a, **kw: calls.append(1) or original(self, *a, **kw))
    second = run(store, feeds, "r2", now=NOW + timedelta(hours=1), parse_workers=0)
    assert server.requests[-1][1].get("if-none-match") == '"v1"'
    assert calls == [] and second.count("failed") == 1 and second.failed[0].reason == reason
    assert "unchanged since then" in problems(store, "r2")[f"broken <{url}>"]
    server.routes["/broken.xml"].body = need(FIXTURES / "heise.atom").read_bytes()
    server.routes["/broken.xml"].etag = '"v2"'
    third = run(store, feeds, "r3", now=NOW + timedelta(hours=3), parse_workers=0)
    assert len(calls) == 1 and third.count("ok") == 1 and len(third.new_article_ids) == 15


def test_charset_from_the_http_header_is_used(server, store):
    latin2 = need(FIXTURES / "hist__latin2.rss").read_bytes().replace(
        b'<?xml version="1.0" encoding="ISO-8859-2"?>', b"")
    url = server.add("/latin2", latin2, headers={"Content-Type": "application/rss+xml; charset=iso-8859-2"})
    run(store, [FeedConfig(url=url, name="latin2", fetch_pages=False)])
    assert [a.title for a in articles(store)] == ["ZAŻÓŁĆ GĘSLĄ JAŹŃ"]


def test_unchanged_feed_costs_a_304_and_stores_nothing_twice(server, store):
    url = server.add("/etag.xml", need(FIXTURES / "heise.atom").read_bytes(), etag='"abc"',
                     last_modified="Tue, 24 Nov 2026 10:00:00 GMT")
    feeds = [FeedConfig(url=url, name="heise", fetch_pages=False)]
    first = run(store, feeds, "r1")
    assert len(first.new_article_ids) == 15
    second = run(store, feeds, "r2", now=NOW + timedelta(hours=1))
    assert second.count("not_modified") == 1 and second.new_article_ids == []
    assert "unchanged" in second.describe() and "nothing new" in second.describe()
    assert server.requests[-1][1].get("if-none-match") == '"abc"'
    with store.session() as s:
        feed = s.execute(select(Feed)).scalar_one()
        assert feed.etag == '"abc"' and feed.last_status == "not_modified"
    # the server forgets its validators: a full 200 again, and every entry is a known duplicate
    server.routes["/etag.xml"].etag = None
    server.routes["/etag.xml"].last_modified = None
    third = run(store, feeds, "r3", now=NOW + timedelta(hours=2))
    assert third.new_article_ids == [] and third.duplicates == 15
    assert len(articles(store)) == 15


def test_bad_feeds_are_reported_and_never_fail_the_run(server, store):
    good = server.add("/good.xml", rss([("A good story about rivers", "http://news.test/a", "Text " * 200)]))
    server.add("/html", "<!doctype html><html><body><p>Not a feed</p></body></html>",
               headers={"Content-Type": "text/html"})
    bad = {
        "500": server.add("/500", b"boom", status=500),
        "404": server.add("/404", b"gone", status=404),
        "timeout": server.hang("/hang"),
        "slow": server.slow_drip("/slow", interval=0.1),
        "huge": server.endless("/huge"),
        "html": server.url("/html"),
        "bomb": server.add("/bomb.xml", BILLION_LAUGHS),
        "xxe": server.add("/xxe.xml", EXTERNAL_ENTITY),
        "empty": server.add("/empty.xml", b""),
        "dns": "http://no-such-feed.invalid/rss.xml",
        "private": server.redirect("/to-private", "http://10.0.0.7/feed.xml"),
    }
    feeds = [FeedConfig(url=good, name="good", fetch_pages=False)]
    feeds += [FeedConfig(url=url, name=name, fetch_pages=False) for name, url in bad.items()]
    report = run(store, feeds)
    assert report.count("ok") == 1 and report.count("failed") == len(bad)
    assert [a.title for a in articles(store)] == ["A good story about rivers"]
    found = problems(store, "r1")
    assert len(found) == len(bad)
    reasons = {name: next(r for src, r in found.items() if src.startswith(f"{name} <")) for name in bad}
    assert "HTTP 500" in reasons["500"] and "HTTP 404" in reasons["404"]
    assert "timed out" in reasons["timeout"] and "total deadline" in reasons["slow"]
    assert "cap" in reasons["huge"] and "HTML page" in reasons["html"]
    assert "billion laughs" in reasons["bomb"] and "external" in reasons["xxe"]
    assert "empty" in reasons["empty"] and "resolve" in reasons["dns"]
    assert "refused" in reasons["private"] and "private address" in reasons["private"]
    assert all("next attempt after" in r for r in reasons.values())

    # next run, an hour later: failing feeds wait out their back-off and are still listed
    later = run(store, feeds, "r2", now=NOW + timedelta(minutes=10))
    assert later.count("backoff") == len(bad)
    assert all("not fetched this run: it failed once" in r for r in problems(store, "r2").values())
    # after the back-off the feed is tried again; a fixed feed recovers
    server.add("/500", rss([("Recovered story", "http://news.test/b", "Body " * 200)]))
    retry = run(store, feeds, "r3", now=NOW + timedelta(hours=1))
    assert retry.count("backoff") == 0
    assert "Recovered story" in [a.title for a in articles(store)]
    with store.session() as s:
        recovered = s.execute(select(Feed).where(Feed.name == "500")).scalar_one()
        still_bad = s.execute(select(Feed).where(Feed.name == "404")).scalar_one()
        assert recovered.consecutive_failures == 0 and recovered.next_attempt_at is None
        assert still_bad.consecutive_failures == 2 and still_bad.next_attempt_at > NOW + timedelta(hours=1, minutes=59)


def test_duplicates_across_feeds_url_variants_and_content(server, store):
    body = "The council approved the new bridge after a long debate about costs and traffic. " * 20
    one = server.add("/one.xml", rss([("Bridge approved", "https://www.city.test/bridge?utm_source=rss#top", body)]))
    two = server.add("/two.xml", rss([("Bridge approved", "https://city.test/bridge?fbclid=xyz", body),
                                      ("Bridge approved", "https://mirror.test/copy-of-bridge", body)]))
    report = run(store, [FeedConfig(url=one, name="One", fetch_pages=False),
                         FeedConfig(url=two, name="Two", fetch_pages=False)])
    stored = articles(store)
    assert len(stored) == 1 and report.duplicates == 2
    assert stored[0].url in ("https://www.city.test/bridge", "https://city.test/bridge")


def test_teaser_gets_full_text_from_the_page_and_failures_keep_feed_text(server, store):
    for name in ("theguardian.com.academics.html", "gregoryszorc.com.python3.html"):
        server.add(f"/pages/{name}", need(PAGES / name).read_bytes(), headers={"Content-Type": "text/html"})
    feed = rss([
        ("Thousands of UK academics treated as second-class citizens", server.url("/pages/theguardian.com.academics.html"),
         "Report claims universities created a pool of low-paid staff... Read more"),
        ("Mercurial's journey to Python 3", server.url("/pages/gregoryszorc.com.python3.html"), "A long read."),
        ("A teaser whose page is gone", server.url("/pages/missing.html"), "Only this teaser survives."),
    ])
    report = run(store, [FeedConfig(url=server.add("/teasers.xml", feed), name="Teasers")])
    assert report.outcomes[0].pages_fetched == 3 and report.outcomes[0].extraction_failed == 1
    got = {a.title: a for a in articles(store)}
    guardian = got["Thousands of UK academics treated as second-class citizens"]
    assert guardian.extraction == "full" and "It calls on the" in guardian.text
    assert "Make a contribution" not in guardian.text
    assert guardian.feed_summary.startswith("Report claims")
    assert "This effort began in earnest" in got["Mercurial's journey to Python 3"].text
    missing = got["A teaser whose page is gone"]
    assert missing.extraction == "feed_text" and "extraction_failed" in missing.flags
    assert missing.text == "Only this teaser survives."


def test_page_on_a_private_address_is_not_fetched(server, store):
    """The feed host is trusted by name; its entry links to a metadata address, which must be refused."""
    feed = rss([("Internal link", "http://169.254.169.254/latest/meta-data/", "Short teaser.")])
    url = server.add("/internal.xml", feed).replace("127.0.0.1", "localhost")
    run(store, [FeedConfig(url=url, name="Internal")], allow=["localhost"])
    (article,) = articles(store)
    assert "extraction_failed" in article.flags and article.text == "Short teaser."


def test_bozo_feed_with_entries_is_used_and_flagged(server, store):
    broken = rss([("Story in a broken feed", "http://news.test/x", "Body " * 200)]).replace("</channel></rss>", "")
    report = run(store, [FeedConfig(url=server.add("/bozo.xml", broken + "<unclosed>"), name="Bozo", fetch_pages=False)])
    (article,) = articles(store)
    assert "bozo_feed" in article.flags and report.outcomes[0].bozo
    with store.session() as s:
        assert s.execute(select(Feed)).scalar_one().last_error.startswith("ill-formed but used")


def test_same_story_from_two_real_outlets_is_clustered(server, store):
    """Real entries: the Uber fine story in CNA's business feed and in Zawya's feed, under different URLs."""
    feeds = [FeedConfig(url=server.add(f"/{n}", need(POOL / n).read_bytes()), name=n, fetch_pages=False, max_entries=200)
             for n in ("cna_business.xml", "zawya_discovery.xml", "bloomberg_politics.xml")]
    report = run(store, feeds)
    assert cluster_articles(store, report.new_article_ids, now=NOW) >= 1
    uber = [a for a in articles(store) if "Uber" in a.title and "Dutch" in a.title]
    assert len({a.source for a in uber}) == 2
    assert uber[0].cluster_id is not None and len({a.cluster_id for a in uber}) == 1
    clustered = [a for a in articles(store) if a.cluster_id == uber[0].cluster_id]
    assert all("Uber" in a.title for a in clustered)


def _rows(store: Store) -> list[tuple]:
    return [(a.url, a.title, a.text, a.author, a.language, a.published_at, a.feed_summary, a.extraction,
             tuple(a.flags), a.source, a.content_hash, a.cluster_id is not None) for a in articles(store)]


def test_parsing_in_worker_processes_stores_what_in_process_parsing_stores(server, tmp_path):
    """The process pool and the batched writes change where feedparser runs, not what is stored: real feeds
    (several encodings, RDF, Atom, a pool of wire copies that cluster, an ill-formed one, a failing one)
    ingested with 2 parser processes give the rows, outcomes and problems of the in-process parser."""
    names = ["guardian.rss", "heise.atom", "rss-1.rss", "hist__latin2.rss", "hist__encoding-gb2312.xml",
             "unrecognized.rss", "incomplete-fields.atom"]
    feeds = [FeedConfig(url=server.add(f"/{n}", need(FIXTURES / n).read_bytes()), name=n, fetch_pages=False)
             for n in names]
    feeds += [FeedConfig(url=server.add(f"/pool/{p.name}", p.read_bytes()), name=p.name, fetch_pages=False)
              for p in sorted(need(POOL).glob("*.xml"))[:8]]
    feeds.append(FeedConfig(url=server.add("/bad", b"<html><body>not a feed</body></html>"), name="bad",
                            fetch_pages=False))
    results = []
    for parse_workers in (0, 2):
        store = Store(f"sqlite:///{tmp_path / f'p{parse_workers}.db'}")
        report = ingest_feeds(store, feeds, "r1", limits=LIMITS, now=NOW, max_workers=1, allow=["127.0.0.1"],
                              parse_workers=parse_workers)
        outcomes = sorted((o.url, o.status, o.entries, o.new, o.duplicates, o.reason, o.bozo) for o in report.outcomes)
        clusters = cluster_articles(store, report.new_article_ids, now=NOW)
        results.append((_rows(store), outcomes, problems(store, "r1"), clusters))
        store.dispose()
    in_process, pooled = results
    assert len(in_process[0]) > 200 and in_process[3] > 0 and len(in_process[2]) >= 2
    assert pooled == in_process
