"""The store: articles, summaries, tags, feeds, digests and the delivery ledger, via SQLAlchemy."""

from newsbrief.store.engine import Store, StoreUnavailable, open_store
from newsbrief.store.schema import (
    Article,
    Base,
    Cluster,
    Delivery,
    Digest,
    Feed,
    Problem,
    SubscriberPref,
    Summary,
    Tag,
    TemplateLine,
)

__all__ = [
    "Article", "Base", "Cluster", "Delivery", "Digest", "Feed", "Problem", "Store", "StoreUnavailable", "SubscriberPref",
    "Summary", "Tag",
    "TemplateLine", "open_store",
]
