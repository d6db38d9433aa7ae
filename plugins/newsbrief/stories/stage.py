"""The clustering stage: the stories of the window, the same whatever order its articles arrived in.

Each run re-clusters every article of the last `window_hours` (`cluster_docs` is a function of the set of
articles), so eight parallel ingest workers and one worker give the same stories, and a run of batch A then
batch B gives what one run of A and B gives. The new grouping is then matched to the stored cluster rows so a
story keeps its id while its members stay: a cluster that keeps its members keeps its id, a merge keeps the id
of the old cluster it shares most members with (then the smallest id), the rest of a split gets a new id, and
a cluster left with no member is deleted. Articles that fall out of the window keep the cluster they had.

Reads plain columns (no ORM objects for a window of thousands of articles) and writes in bulk: the new
clusters in one flush, the moved articles' cluster ids and the representatives in one executemany each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from newsbrief.sources.feeds import ClusterSettings
from newsbrief.store import Article, Cluster, Store
from newsbrief.stories.clustering import Doc, cluster_docs

WINDOW_LIMIT = 20_000
_CHUNK = 500
_COLUMNS = (Article.id, Article.title, Article.text, Article.cluster_id, Article.source, Article.extraction,
            Article.url, Article.content_hash)


def cluster_articles(store: Store, article_ids: Sequence[int], settings: ClusterSettings | None = None, *,
                     now: datetime | None = None) -> int:
    """Re-cluster the window holding `article_ids` (the last `settings.window_hours`); returns how many
    clusters gained members (new stories included)."""
    settings = settings or ClusterSettings()
    now = now or datetime.now(UTC)
    since = now - timedelta(hours=settings.window_hours)
    with store.session() as s:
        rows = {r.id: r for r in s.execute(select(*_COLUMNS).where(Article.ingested_at >= since)
                                           .order_by(Article.id.desc()).limit(WINDOW_LIMIT))}
        missing = sorted(set(article_ids) - rows.keys())
        for start in range(0, len(missing), _CHUNK):
            rows.update((r.id, r) for r in s.execute(select(*_COLUMNS).where(
                Article.id.in_(missing[start:start + _CHUNK]))))
        docs = [Doc(r.id, r.title, r.text, r.source, key=r.url or r.content_hash) for r in rows.values()]
        groups = cluster_docs(docs, threshold=settings.threshold, title_threshold=settings.title_threshold)
        current = {i: r.cluster_id for i, r in rows.items()}
        ids = match_clusters(groups, current)
        reps = [representative([rows[i] for i in group]) for group in groups]
        created = {n: Cluster(representative_id=reps[n]) for n, cid in enumerate(ids) if cid is None}
        s.add_all(created.values())
        s.flush()
        target = {i: None for i in rows}
        gained = 0
        for n, group in enumerate(groups):
            cid = ids[n] if ids[n] is not None else created[n].id
            target.update((i, cid) for i in group)
            gained += any(current[i] != cid for i in group)
        kept = [{"id": cid, "representative_id": reps[n]} for n, cid in enumerate(ids) if cid is not None]
        if kept:
            s.execute(update(Cluster), kept)
        moves = [{"id": i, "cluster_id": cid} for i, cid in target.items() if current[i] != cid]
        if moves:
            s.execute(update(Article), moves)
        _delete_empty(s, {current[m["id"]] for m in moves} - set(ids) - {None})
    return gained


def match_clusters(groups: Sequence[Sequence[int]], current: dict[int, int | None]) -> list[int | None]:
    """The stored cluster id each group keeps (None: a new cluster), each id given to one group at most.

    Largest overlap first, then the smaller cluster id, then the group's place in `groups` (sorted by
    members): a group that is exactly an old cluster always keeps its id, since nothing else overlaps it."""
    overlap: Counter[tuple[int, int]] = Counter()
    for n, group in enumerate(groups):
        overlap.update((n, current[i]) for i in group if current.get(i) is not None)
    ids: list[int | None] = [None] * len(groups)
    taken: set[int] = set()
    for (n, cid), _ in sorted(overlap.items(), key=lambda item: (-item[1], item[0][1], item[0][0])):
        if ids[n] is None and cid not in taken:
            ids[n] = cid
            taken.add(cid)
    return ids


def representative(members) -> int:
    """The article that shows the story: a full text over a teaser, then the longest text, then the
    smallest URL (content hash when there is none), so the choice never depends on ids or arrival."""
    return min(members, key=lambda a: (a.extraction != "full", -len(a.text or ""), a.url or "",
                                       a.content_hash)).id


def _delete_empty(s, cluster_ids: set[int]) -> None:
    """Drop the clusters that lost every member (articles outside the window may still hold some)."""
    ids = sorted(cluster_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        held = set(s.execute(select(Article.cluster_id).where(Article.cluster_id.in_(chunk)).distinct()).scalars())
        if empty := [cid for cid in chunk if cid not in held]:
            s.execute(delete(Cluster).where(Cluster.id.in_(empty)))
