"""What the web tests share: a store that the real stages filled from the project's seeds, with its digests
delivered to the outbox."""

from __future__ import annotations

from dataclasses import dataclass

from newsbrief.config.settings import Settings, load_settings
from newsbrief.config.subscribers import Subscriber, load_subscribers
from newsbrief.digest.build import build_digests
from newsbrief.digest.delivery import deliver
from newsbrief.sources.seed_ingest import ingest_seed_files
from newsbrief.store import Store
from newsbrief.tagging import Taxonomy, load_taxonomy
from newsbrief.tagging.stage import tag_articles
from newsbrief.text.stage import summarize_articles


@dataclass
class Filled:
    settings: Settings
    store: Store
    ids: list[int]
    subscribers: list[Subscriber]
    taxonomy: Taxonomy


def filled_store(monkeypatch, public_url: str | None = None) -> Filled:
    """Seeds ingested, summarized, tagged, digested and delivered to the outbox (run "run-1"), as a run
    would leave them; `public_url` is where the digests' links point."""
    monkeypatch.setenv("NEWSBRIEF_DELIVERY", "outbox")
    monkeypatch.delenv("NEWSBRIEF_WEB_TOKEN", raising=False)
    if public_url:
        monkeypatch.setenv("NEWSBRIEF_PUBLIC_URL", public_url)
    settings = load_settings()
    store = Store(settings.store_url)
    taxonomy = load_taxonomy(settings.topics_file)
    subscribers = load_subscribers(settings.subscribers_file)
    ids = ingest_seed_files(store, settings, "run-1").article_ids
    summarize_articles(store, ids)
    tag_articles(store, ids, taxonomy)
    deliver(store, settings, build_digests(store, settings, "run-1", ids, subscribers, taxonomy))
    return Filled(settings, store, ids, subscribers, taxonomy)
