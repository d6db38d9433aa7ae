"""The seed stage: new files in seeds/ become articles, keyed by their content so nothing is read twice.

Re-running it for the same run key returns the same article ids: that is what makes Airflow retries safe.
Two runs racing on one seed store it once (insert or fetch the existing row): the loser sees it as
already processed, or, for the same run key, returns the same id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newsbrief.config.settings import Settings
from newsbrief.errors import InputError
from newsbrief.sources.seeds import read_seeds, scan_seed_paths, seed_label
from newsbrief.store import Article, Store
from newsbrief.store.feeds import insert_article
from newsbrief.store.problems import add_problem

log = logging.getLogger(__name__)

DRY_RUN_PREFIX = "dry-run:"


@dataclass
class SeedIngest:
    article_ids: list[int] = field(default_factory=list)
    already_known: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def ingest_seed_files(store: Store, settings: Settings, run_key: str, *, patterns: str | list[str] = "*",
                      force: bool = False) -> SeedIngest:
    """Store new seed articles; a seed already processed (same content) is skipped unless forced."""
    result = SeedIngest()
    paths, refused = scan_seed_paths(settings.seeds_dir, patterns)
    if not paths:
        log.warning("no seed files match %r in seeds/: nothing to ingest", patterns)
    scan = read_seeds(paths, max_bytes=settings.max_seed_bytes)
    problems = refused + [InputError(seed_label(p.source, settings.seeds_dir), p.reason, p.fix)
                          for p in scan.problems]
    for problem in problems:
        log.error("seed skipped: %s", problem)
        with store.session() as s:
            add_problem(s, run_key, "seed", problem.source, f"{problem.reason} (fix: {problem.fix})")
        result.problems.append(str(problem))
    for doc in scan.documents:
        with store.session() as s:
            article, created = insert_article(s, Article(
                content_hash=doc.content_hash, url=None, source_kind="seed", source=doc.path.name,
                origin=str(doc.path), title=doc.title, text=doc.body, extraction="seed", flags=[], topics_hint=[],
                run_key=run_key, published_at=datetime.fromtimestamp(doc.path.stat().st_mtime, UTC)), [])
            if created:
                log.info("seed %s stored as article %s: %s", doc.path.name, article.id, doc.title)
            elif article.run_key and article.run_key.startswith(DRY_RUN_PREFIX) and article.run_key != run_key:
                article.run_key = run_key  # a dry run only previewed it: the first real run adopts it
            elif article.run_key != run_key and not force:
                log.info("seed %s was already processed (article %s, run %s): skipped; trigger with force=true "
                         "to send it again", doc.path.name, article.id, article.run_key)
                result.already_known.append(doc.path.name)
                continue
            result.article_ids.append(article.id)
    return result
