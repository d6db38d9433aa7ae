"""
### daily_digest — the morning email

Every day at 07:00 (timezone from `NEWSBRIEF_TIMEZONE`, default UTC) each subscriber gets one email
with the new stories of the last day on their topics: new seed files plus the feed articles that
`ingest_feeds` stored during the run's data interval. Nothing is sent twice to the same person; failed
inputs are listed in the footer.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag

from newsbrief.dag_tasks import (
    DEFAULT_SENTENCES,
    build_digests,
    default_args,
    deliver,
    ingest_seeds,
    select_interval_articles,
    summarize,
    tag,
)
from newsbrief.summarize import ALGORITHMS, DEFAULT_ALGORITHM

ARTICLES = Asset("newsbrief://articles")


@dag(
    dag_id="daily_digest",
    schedule=CronDataIntervalTimetable(os.environ.get("NEWSBRIEF_DAILY_CRON", "0 7 * * *"),
                                       timezone=os.environ.get("NEWSBRIEF_TIMEZONE", "UTC") or "UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    default_args=default_args(),
    max_active_runs=1,
    tags=["newsbrief"],
    doc_md=__doc__,
    params={
        "seeds": Param("*", type="string", title="Seed files"),
        "recipients": Param([], type="array", items={"type": "string"}, title="Recipients override"),
        "algorithm": Param(DEFAULT_ALGORITHM, type="string", enum=list(ALGORITHMS), title="Summarizer"),
        "sentences": Param(DEFAULT_SENTENCES, type="integer", minimum=1, maximum=10, title="Summary sentences"),
        "dry_run": Param(False, type="boolean", title="Dry run"),
        "force": Param(False, type="boolean", title="Force"),
    },
)
def daily_digest():
    articles = select_interval_articles.override(inlets=[ARTICLES])(ingest_seeds())
    deliver(build_digests(tag(summarize(articles))))


daily_digest()
