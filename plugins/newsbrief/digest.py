"""Choosing the stories for one subscriber and rendering the digest with jinja2 templates.

Each story appears once: a cluster of near-duplicates is shown as its representative with "also
reported by", and a story with several matching topics is listed under its strongest one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import jinja2

from newsbrief.subscribers import Subscriber

OTHER_TOPIC = ("other", "Other stories")


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
                 topic_order: list[tuple[str, str]]) -> list[TopicGroup]:
    """The subscriber's stories grouped by topic in taxonomy order, at most `max_items` in all.

    Stories are ranked by their strongest matching tag; each goes under the best of its tags that the
    subscriber follows, so nothing is listed twice.
    """
    wanted = set(subscriber.topics)
    chosen: list[tuple[float, DigestItem, str]] = []
    for item in items:
        matching = [t for t in item.tags if not wanted or t.tag in wanted]
        if matching:
            best = max(matching, key=lambda t: t.score)
            chosen.append((best.score, item, best.tag))
        elif not wanted:
            chosen.append((0.0, item, OTHER_TOPIC[0]))
    chosen.sort(key=lambda c: (-c[0], -(c[1].published.timestamp() if c[1].published else 0), c[1].article_id))
    chosen = chosen[: subscriber.max_items]
    labels = dict(topic_order)
    order = [tag for tag, _ in topic_order] + [OTHER_TOPIC[0]]
    labels[OTHER_TOPIC[0]] = OTHER_TOPIC[1]
    groups: dict[str, TopicGroup] = {}
    for _, item, tag in chosen:
        groups.setdefault(tag, TopicGroup(tag, labels.get(tag, tag), [])).items.append(item)
    return [groups[t] for t in order if t in groups]


def message_id(run_key: str, recipient: str, domain: str = "newsbrief.local") -> str:
    """Deterministic Message-ID: a retried send of the same digest carries the same id."""
    digest = hashlib.sha256(f"{run_key}\n{recipient.lower()}".encode()).hexdigest()[:32]
    return f"<digest-{digest}@{domain}>"


def template_env(templates_dir: str | Path) -> jinja2.Environment:
    """HTML templates are autoescaped (titles with & and < render right); text templates are not."""
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


def render_digest(templates_dir: str | Path, *, subscriber: Subscriber, groups: list[TopicGroup],
                  failures: list[FailedInput], run_label: str, generated_at: datetime) -> RenderedDigest:
    env = template_env(templates_dir)
    context = {
        "subscriber": subscriber,
        "groups": groups,
        "item_count": sum(len(g.items) for g in groups),
        "failures": failures,
        "run_label": run_label,
        "generated_at": generated_at,
    }
    subject = " ".join(env.get_template("subject.txt.j2").render(context).split())
    return RenderedDigest(
        subject=subject,
        html=env.get_template("digest.html.j2").render(context),
        text=env.get_template("digest.txt.j2").render(context),
    )
