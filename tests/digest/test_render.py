"""Choosing and rendering a subscriber's stories with the real templates."""

import re
from datetime import UTC, datetime

from newsbrief.config.subscribers import Subscriber
from newsbrief.digest.render import (
    GMAIL_CLIP_BYTES,
    HTML_BUDGET,
    DigestItem,
    FailedInput,
    ItemTag,
    render_digest,
    select_items,
)
from tests.conftest import ROOT

TOPICS = [("ceasefire", "Ceasefire & peace talks"), ("tariffs", "Tariffs & trade"), ("sport", "Sport")]


def item(aid, title, tags, **kw):
    return DigestItem(article_id=aid, title=title, source=kw.pop("source", "Wire"),
                      summary=kw.pop("summary", [f"Sentence of {aid}."]),
                      tags=[ItemTag(t, dict(TOPICS)[t], s) for t, s in tags], **kw)


def test_each_story_once_under_its_strongest_followed_topic():
    items = [item(1, "Truce and tariffs", [("ceasefire", 0.9), ("tariffs", 0.5)]),
             item(2, "Tariff war", [("tariffs", 0.8)]),
             item(3, "Cup final", [("sport", 0.9)])]
    trade = Subscriber("t@example.org", topics=("tariffs",))
    groups = select_items(items, trade, TOPICS)
    assert [(g.tag, [i.article_id for i in g.items]) for g in groups] == [("tariffs", [2, 1])]
    everyone = select_items(items, Subscriber("e@example.org"), TOPICS)
    assert [(g.tag, [i.article_id for i in g.items]) for g in everyone] == [
        ("ceasefire", [1]), ("tariffs", [2]), ("sport", [3])]


def test_a_broad_topic_files_a_story_only_when_the_reader_follows_none_of_its_others():
    topics = [*TOPICS, ("economy", "Economy")]
    tags = {"tariffs": "Tariffs & trade", "economy": "Economy"}
    story = DigestItem(article_id=1, title="US hits Canada with 50% tariffs", source="Wire", summary=["S."],
                       tags=[ItemTag("economy", tags["economy"], 0.99), ItemTag("tariffs", tags["tariffs"], 0.9)])
    earnings = DigestItem(article_id=2, title="Bank profits rise", source="Wire", summary=["S."],
                          tags=[ItemTag("economy", tags["economy"], 0.95)])
    everyone = select_items([story, earnings], Subscriber("e@example.org"), topics, frozenset({"economy"}))
    assert [(g.tag, [i.article_id for i in g.items]) for g in everyone] == [("tariffs", [1]), ("economy", [2])]
    markets = select_items([story, earnings], Subscriber("m@example.org", topics=("economy",)), topics,
                           frozenset({"economy"}))
    assert [(g.tag, [i.article_id for i in g.items]) for g in markets] == [("economy", [1, 2])]
    by_score = select_items([story], Subscriber("e@example.org"), topics)
    assert by_score[0].tag == "economy"


def test_max_items_keeps_the_strongest_and_untagged_go_to_other():
    items = [item(i, f"Story {i}", [("tariffs", i / 10)]) for i in range(1, 6)] + [item(9, "Untagged", [])]
    groups = select_items(items, Subscriber("e@example.org", max_items=3), TOPICS)
    assert [i.article_id for g in groups for i in g.items] == [5, 4, 3]
    groups = select_items(items, Subscriber("e@example.org", max_items=10), TOPICS)
    assert groups[-1].tag == "other" and [i.article_id for i in groups[-1].items] == [9]


def test_render_escapes_once_and_text_part_is_clean():
    tricky = 'Q&A: "Tariffs" <not> a tag'
    items = [item(1, tricky, [("tariffs", 0.7)], link="https://example.org/a?x=1&y=2",
                  published=datetime(2025, 6, 4, 12, 0, tzinfo=UTC), also_reported_by=["AP", "BBC"],
                  summary=["First & second.", "Third <b>sentence</b>."])]
    groups = select_items(items, Subscriber("e@example.org", name="Desk"), TOPICS)
    out = render_digest(ROOT / "templates", subscriber=Subscriber("e@example.org", name="Desk"), groups=groups,
                        failures=[FailedInput("seed", "seeds/bad.txt", "the file is empty")],
                        run_label="2025-06-05", generated_at=datetime(2025, 6, 5, 7, tzinfo=UTC))
    assert 'Q&amp;A: "Tariffs" &lt;not&gt; a tag' in out.html  # css-inline re-serialises: quotes need no escape
    assert "&amp;amp;" not in out.html
    assert 'href="https://example.org/a?x=1&amp;y=2"' in out.html
    assert "Third &lt;b&gt;sentence&lt;/b&gt;." in out.html
    assert "also reported by 2 sources (AP, BBC)" in out.html
    assert "seeds/bad.txt" in out.html and "the file is empty" in out.html
    assert tricky in out.text and "&amp;" not in out.text and "<p>" not in out.text
    assert "  - First & second." in out.text and "Link: https://example.org/a?x=1&y=2" in out.text
    assert "Inputs that failed in this run (1):" in out.text
    assert out.subject == "newsbrief: 1 story on Tariffs & trade (2025-06-05)"


def test_empty_digest_says_so():
    out = render_digest(ROOT / "templates", subscriber=Subscriber("e@example.org"), groups=[], failures=[],
                        run_label="r", generated_at=datetime(2025, 6, 5, tzinfo=UTC))
    assert "No new stories" in out.html and "No new stories" in out.text
    assert "All inputs of this run were read." in out.text


def test_subject_names_at_most_three_topics():
    topics = TOPICS + [("energy", "Energy"), ("elections", "Elections")]
    items = [item(i, f"S{i}", [(t, 0.5)]) for i, (t, _) in enumerate(TOPICS)]
    items += [DigestItem(article_id=10, title="E", source="W", summary=[], tags=[ItemTag("energy", "Energy", 0.4)]),
              DigestItem(article_id=11, title="V", source="W", summary=[], tags=[ItemTag("elections", "Elections", 0.3)])]
    groups = select_items(items, Subscriber("e@example.org"), topics)
    out = render_digest(ROOT / "templates", subscriber=Subscriber("e@example.org"), groups=groups, failures=[],
                        run_label="Daily digest, 05 Jun 2025", generated_at=datetime(2025, 6, 5, tzinfo=UTC))
    assert out.subject == ("newsbrief: 5 stories on Ceasefire & peace talks, Tariffs & trade, Sport and 2 more "
                           "topics (Daily digest, 05 Jun 2025)")


def test_topics_take_turns_when_the_cap_bites_and_wider_stories_lead():
    items = [item(i, f"Trade {i}", [("tariffs", 0.9)]) for i in range(1, 6)]
    items += [item(9, "Truce", [("ceasefire", 0.2)]), item(10, "Widely reported", [("tariffs", 0.1)],
                                                          also_reported_by=["AP", "BBC"])]
    groups = select_items(items, Subscriber("e@example.org", max_items=3), TOPICS)
    assert [(g.tag, [i.article_id for i in g.items]) for g in groups] == [("ceasefire", [9]), ("tariffs", [10, 1])]


def _big(n, sentence_words=40):
    words = " ".join(f"word{i}" for i in range(sentence_words))
    return [item(i, f"Story {i} <b>bold</b>", [(TOPICS[i % 3][0], 1 - i / 1000)], link=f"https://example.org/{i}",
                 summary=[f"{words} {i}.", f"Second {words}.", f"Third {words}."]) for i in range(n)]


def test_css_is_inlined_and_the_footer_shows_both_links():
    sub = Subscriber("e@example.org")
    out = render_digest(ROOT / "templates", subscriber=sub, groups=select_items(_big(3), sub, TOPICS), failures=[],
                        run_label="r", generated_at=datetime(2025, 6, 5, 7, tzinfo=UTC))
    assert "<style" not in out.html
    assert re.search(r'<h2 style="[^"]*border-bottom: 2px solid #1a4d8f', out.html)
    assert re.search(r'<span class="tag" style="[^"]*background: #eef3fa', out.html)
    footer = out.html[out.html.index('class="footer"'):]
    assert re.search(r'<a href="http[^"]+/preferences/[^"]+"[^>]*>Change your topics or length</a>', footer)
    assert re.search(r'<a href="http[^"]+/unsubscribe/[^"]+"[^>]*>Unsubscribe</a>', footer)
    assert out.cut == "" and "did not fit" not in out.text


def test_a_large_digest_is_cut_under_gmails_clipping_limit_and_says_so():
    sub = Subscriber("e@example.org", max_items=500)
    groups = select_items(_big(400), sub, TOPICS)
    failures = [FailedInput("feeds", f"https://down{i}.example.org/rss", "HTTP 503") for i in range(60)]
    out = render_digest(ROOT / "templates", subscriber=sub, groups=groups, failures=failures,
                        run_label="r", generated_at=datetime(2025, 6, 5, 7, tzinfo=UTC))
    size = len(out.html.encode())
    kept = sum(len(g.items) for g in out.groups)
    assert size <= HTML_BUDGET < GMAIL_CLIP_BYTES
    assert 0 < kept < 400 and {g.tag for g in out.groups} == {"ceasefire", "tariffs", "sport"}
    assert f"{400 - kept} more stories did not fit in this email" in out.cut
    assert "50 failing inputs are not listed" in out.cut
    assert out.cut in out.html and out.cut in out.text and "Gmail" in out.html
    assert "Unsubscribe</a>" in out.html[-3000:]  # the footer survives the cut
    one_more = render_digest(ROOT / "templates", subscriber=sub, groups=select_items(_big(kept + 1), sub, TOPICS),
                             failures=failures[:10], run_label="r", generated_at=datetime(2025, 6, 5, 7, tzinfo=UTC))
    assert len(one_more.html.encode()) > HTML_BUDGET - 2000  # the cut keeps as many stories as fit, not fewer
