"""The store: articles, summaries, tags, feeds, digests and the delivery ledger, via SQLAlchemy."""

from newsbrief.store.engine import Store, open_store
from newsbrief.store.schema import (
    Article,
    Base,
    Cluster,
    Delivery,
    Digest,
    Feed,
    Problem,
    Summary,
    Tag,
    TemplateLine,
)

__all__ = [
    "Article", "Base", "Cluster", "Delivery", "Digest", "Feed", "Problem", "Store", "Summary", "Tag", "TemplateLine",
    "open_store",
]
