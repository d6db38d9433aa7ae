"""
### seed_digest — a digest of the seed files, on demand

Trigger it (with the form) when new article files land in `seeds/`: it reads the new ones, summarizes
and tags them, and sends each subscriber the stories on their topics, through the `smtp_default`
connection or, without one, into `outbox/`. Summarize and tag are mapped tasks, one per batch of
`NEWSBRIEF_ARTICLES_PER_TASK` articles (default 1000), so a large run is shared by several workers.
Earlier digests whose send failed are retried meanwhile, before this run's digests are built.

Seeds already processed (same content) are skipped unless **force** is on; a **dry run** writes
previews to `outbox/dry-run/` and sends nothing. Bad files are skipped and listed in the digest footer.
"""

from __future__ import annotations

from airflow.sdk import dag

from newsbrief.orchestration.tasks import (
    build_digests,
    dag_settings,
    deliver,
    digest_params,
    ingest_seeds,
    plan_article_batches,
    redeliver_earlier,
    summarize,
    tag,
)


@dag(dag_id="seed_digest", schedule=None, params=digest_params(), **dag_settings(__doc__))
def seed_digest():
    redelivered = redeliver_earlier()
    batches = plan_article_batches(ingest_seeds())
    digests = build_digests(tag.expand(article_ids=summarize.expand(article_ids=batches)))
    redelivered >> digests
    deliver(digests)


seed_digest()
