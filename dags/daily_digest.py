"""
### daily_digest — the morning email

Every day at 07:00 (timezone from `NEWSBRIEF_TIMEZONE`, default UTC) each subscriber gets one email
with the new stories of the last day on their topics: new seed files plus the feed articles that
`ingest_feeds` stored during the run's data interval. Nothing is sent twice to the same person; failed
inputs are listed in the footer. Summarize and tag are mapped tasks, one per batch of
`NEWSBRIEF_ARTICLES_PER_TASK` articles (default 1000), so a busy day is shared by several workers.
Earlier digests whose send failed are retried meanwhile, before this run's digests are built.
"""

from __future__ import annotations

import os

from airflow.sdk import Asset, CronDataIntervalTimetable, dag

from newsbrief.orchestration.tasks import (
    build_digests,
    dag_settings,
    deliver,
    digest_params,
    ingest_seeds,
    plan_article_batches,
    redeliver_earlier,
    select_interval_articles,
    summarize,
    tag,
)

ARTICLES = Asset("newsbrief://articles")


@dag(
    dag_id="daily_digest",
    schedule=CronDataIntervalTimetable(os.environ.get("NEWSBRIEF_DAILY_CRON", "0 7 * * *"),
                                       timezone=os.environ.get("NEWSBRIEF_TIMEZONE", "UTC") or "UTC"),
    params=digest_params(),
    **dag_settings(__doc__),
)
def daily_digest():
    redelivered = redeliver_earlier()
    articles = select_interval_articles.override(inlets=[ARTICLES])(ingest_seeds())
    batches = plan_article_batches(articles)
    digests = build_digests(tag.expand(article_ids=summarize.expand(article_ids=batches)))
    redelivered >> digests
    deliver(digests)


daily_digest()
