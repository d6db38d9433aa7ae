"""Which candidates a reader has already seen as a story: the article itself, or another outlet's
version of it (same cluster). The digest and the alerts both skip these."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from newsbrief.store import Article


def seen_stories(session, seen: Iterable[int], candidates: Iterable[int]) -> set[int]:
    """The candidates that are one of `seen`, or in the cluster of one of them."""
    seen, candidates = set(seen), set(candidates)
    if not seen or not candidates:
        return set()
    clusters = set(session.execute(select(Article.cluster_id).where(
        Article.id.in_(seen), Article.cluster_id.is_not(None))).scalars())
    same_story = set(session.execute(select(Article.id).where(
        Article.id.in_(candidates), Article.cluster_id.in_(clusters))).scalars()) if clusters else set()
    return (seen & candidates) | same_story
