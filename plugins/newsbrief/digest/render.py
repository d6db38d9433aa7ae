"""Choosing the stories for one subscriber and rendering the digest with jinja2 templates.

Each story appears once: a cluster of near-duplicates is shown as its representative with "also
reported by", and a story with several matching topics is listed under its strongest one.

The HTML template carries its CSS in a <style> block that css-inline turns into style attributes
(mail clients drop <style>). Gmail hides everything past 102 kB of HTML behind "[Message clipped]",
footer and unsubscribe link included, so a digest over HTML_BUDGET bytes is cut: failing inputs past
the first MAX_FAILURES_WHEN_CUT first, then the weakest stories, and the footer says what was cut.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import css_inline
import jinja2

from newsbrief.config.subscribers import Subscriber
from newsbrief.digest.links import load_link_settings, preferences_url, unsubscribe_url

OTHER_TOPIC = ("other", "Other stories")
GMAIL_CLIP_BYTES = 102 * 1024
HTML_BUDGET = 100_000  # bytes of HTML, leaving room under Gmail's limit for the transfer encoding's lines
MAX_FAILURES_WHEN_CUT = 10
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


@dataclass
class ItemTag:
    tag: str
    label: str
    score: float


@dataclass
class DigestItem:
    article_id: int
    title: str
    source: str
    summary: list[str]
    tags: list[ItemTag] = field(default_factory=list)
    link: str | None = None
    published: datetime | None = None
    also_reported_by: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def best_score(self) -> float:
        return max((t.score for t in self.tags), default=0.0)


@dataclass
class TopicGroup:
    tag: str
    label: str
    items: list[DigestItem]


@dataclass
class FailedInput:
    stage: str
    source: str
    reason: str


def select_items(items: list[DigestItem], subscriber: Subscriber,
                 topic_order: list[tuple[str, str]], broad: frozenset[str] = frozenset()) -> list[TopicGroup]:
    """The subscriber's stories grouped by topic in taxonomy order, at most `max_items` in all.

    Each story goes under the strongest of its tags the subscriber follows, so nothing is listed twice; a
    `broad` topic (topics.yaml `broad: true`: economy, which trade policy and energy markets are part of)
    only when it is the story's only one, so a tariffs story is read under Tariffs & trade even when its
    economy score is higher.
    Within a topic, stories reported by more outlets come first, then stronger tags, then newer ones.
    When the cap bites, topics take turns, so one busy topic cannot crowd out the others.
    """
    wanted = set(subscriber.topics)
    by_topic: dict[str, list[tuple[float, DigestItem]]] = {}
    for item in items:
        matching = [t for t in item.tags if not wanted or t.tag in wanted]
        if matching:
            best = max(matching, key=lambda t: (t.tag not in broad, t.score))
            by_topic.setdefault(best.tag, []).append((best.score, item))
        elif not wanted:
            by_topic.setdefault(OTHER_TOPIC[0], []).append((0.0, item))
    for entries in by_topic.values():
        entries.sort(key=lambda e: (-len(e[1].also_reported_by), -e[0],
                                    -(e[1].published.timestamp() if e[1].published else 0), e[1].article_id))
    untagged = by_topic.pop(OTHER_TOPIC[0], [])
    queues = sorted(by_topic.items(), key=lambda kv: (-len(kv[1][0][1].also_reported_by), -kv[1][0][0]))
    picked: dict[str, list[DigestItem]] = {}
    room = subscriber.max_items
    for depth in range(max((len(e) for _, e in queues), default=0)):
        for tag, entries in queues:
            if room and depth < len(entries):
                picked.setdefault(tag, []).append(entries[depth][1])
                room -= 1
    if room and untagged:
        picked[OTHER_TOPIC[0]] = [item for _, item in untagged[:room]]
    labels = dict(topic_order)
    labels[OTHER_TOPIC[0]] = OTHER_TOPIC[1]
    order = [tag for tag, _ in topic_order] + [OTHER_TOPIC[0]]
    return [TopicGroup(tag, labels.get(tag, tag), picked[tag]) for tag in order if tag in picked]


def message_id(run_key: str, recipient: str, domain: str = "newsbrief.local") -> str:
    """Deterministic Message-ID: a retried send of the same digest carries the same id."""
    digest = hashlib.sha256(f"{run_key}\n{recipient.lower()}".encode()).hexdigest()[:32]
    return f"<digest-{digest}@{domain}>"


@lru_cache(maxsize=8)
def template_env(templates_dir: str | Path) -> jinja2.Environment:
    """HTML templates are autoescaped (titles with & and < render right); text templates are not.

    One environment per folder and process: templates are compiled once, not for every digest (jinja
    reloads a template whose file changed)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass
class RenderedDigest:
    subject: str
    html: str
    text: str
    groups: list[TopicGroup] = field(default_factory=list)  # what the digest carries, after any cut
    cut: str = ""  # what was left out to stay under the size budget, "" when nothing


def _trimmed(groups: list[TopicGroup], keep: int) -> list[TopicGroup]:
    """The groups with only `keep` stories left: stories are removed from the end of the longest topic
    first (the weakest there), so every topic keeps its best stories as long as possible."""
    lists = [list(g.items) for g in groups]
    for _ in range(sum(map(len, lists)) - keep):
        longest = max(range(len(lists)), key=lambda i: (len(lists[i]), i))
        lists[longest].pop()
    return [TopicGroup(g.tag, g.label, items) for g, items in zip(groups, lists, strict=True) if items]


def render_digest(templates_dir: str | Path, *, subscriber: Subscriber, groups: list[TopicGroup],
                  failures: list[FailedInput], run_label: str, generated_at: datetime,
                  budget: int = HTML_BUDGET) -> RenderedDigest:
    env = template_env(templates_dir)
    links = load_link_settings()
    base = {
        "preferences_url": preferences_url(subscriber.email, settings=links),
        "unsubscribe_url": unsubscribe_url(subscriber.email, settings=links),
        "archive_url": f"{links.public_url}/",
        "subscriber": subscriber,
        "run_label": run_label,
        "generated_at": generated_at,
    }

    def render(chosen: list[TopicGroup], shown_failures: list[FailedInput], cut: str) -> RenderedDigest:
        context = {**base, "groups": chosen, "item_count": sum(len(g.items) for g in chosen), "cut": cut,
                   "failures": shown_failures, "failures_cut": len(failures) - len(shown_failures)}
        html = _INLINER.inline(env.get_template("digest.html.j2").render(context))
        return RenderedDigest(subject=" ".join(env.get_template("subject.txt.j2").render(context).split()),
                              html=html, text=env.get_template("digest.txt.j2").render(context),
                              groups=chosen, cut=cut)

    def fits(r: RenderedDigest) -> bool:
        return len(r.html.encode()) <= budget

    full = render(groups, failures, "")
    if fits(full):
        return full
    shown = failures[:MAX_FAILURES_WHEN_CUT]
    total = sum(len(g.items) for g in groups)

    def cut_to(keep: int) -> RenderedDigest:
        notes = []
        if total - keep:
            left = total - keep
            notes.append(f"{left} more {'story' if left == 1 else 'stories'} did not fit in this email")
        if len(failures) > len(shown):
            notes.append(f"{len(failures) - len(shown)} failing inputs are not listed")
        note = "; ".join(notes)
        return render(_trimmed(groups, keep), shown, note[:1].upper() + note[1:])

    best = cut_to(total)
    if fits(best):
        return best
    low, high = 0, total - 1  # the largest number of stories that fits, by bisection (a render per step)
    best = cut_to(0)
    while low <= high:
        mid = (low + high) // 2
        attempt = cut_to(mid)
        if fits(attempt):
            best, low = attempt, mid + 1
        else:
            high = mid - 1
    return best
