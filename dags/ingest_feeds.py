"""
### ingest_feeds — hourly feed ingestion

Every hour: read `config/feeds.yaml`, fetch the due feeds in a few batches (dynamic task mapping, a
bounded thread pool inside each, so hundreds of feeds stay a handful of tasks), store new articles,
then cluster the same story across outlets. Publishes the `newsbrief://articles` asset, which
`daily_digest` reads (articles ingested during its data interval). A failing feed never fails the run:
it is retried with back-off on later runs and listed in the next digest's footer.
"""

from __future__ import annotations

import logging
import os

from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, get_current_context, task

from newsbrief.orchestration.tasks import dag_settings

log = logging.getLogger(__name__)

ARTICLES = Asset("newsbrief://articles")


def _feeds():
    from newsbrief.config.settings import load_settings
    from newsbrief.sources.feeds import load_feeds_file

    settings = load_settings()
    return settings, load_feeds_file(settings.feeds_file)


@dag(
    dag_id="ingest_feeds",
    schedule=CronDataIntervalTimetable(os.environ.get("NEWSBRIEF_INGEST_CRON", "0 * * * *"), timezone="UTC"),
    **dag_settings(__doc__),
    params={
        "feeds_per_batch": Param(50, type="integer", minimum=1, title="Feeds per mapped task"),
        "max_batches": Param(8, type="integer", minimum=1, maximum=64, title="At most this many mapped tasks"),
        "workers": Param(8, type="integer", minimum=1, maximum=64, title="Concurrent fetches per task"),
    },
)
def ingest_feeds():
    @task
    def plan_batches() -> list[list[str]]:
        """Validate feeds.yaml (a mistake fails here, naming its line) and split the enabled feeds into batches."""
        from newsbrief.sources.ingest import plan_batches as split

        params = get_current_context()["params"]
        _, config = _feeds()
        feeds = config.feeds
        urls = [f.url for f in feeds if f.enabled]
        batches = split(urls, per_batch=params["feeds_per_batch"], max_batches=params["max_batches"])
        log.info("%d enabled feeds (of %d declared) in %d batches", len(urls), len(feeds), len(batches))
        return batches

    @task(max_active_tis_per_dagrun=4)
    def ingest_batch(urls: list[str]) -> dict:
        from newsbrief.orchestration.glue import run_key_from_context
        from newsbrief.sources.ingest import ingest_feeds as ingest
        from newsbrief.store import open_store

        context = get_current_context()
        settings, config = _feeds()
        wanted = set(urls)
        report = ingest(open_store(settings.store_url), [f for f in config.feeds if f.url in wanted],
                        run_key_from_context(context), max_workers=context["params"]["workers"])
        log.info("%s", report.describe())
        for problem in report.as_dict()["problems"]:
            log.warning("feed problem: %s", problem)
        return report.as_dict()

    @task(outlets=[ARTICLES])
    def cluster_stories(reports: list[dict]) -> dict:
        from newsbrief.store import open_store
        from newsbrief.stories.stage import cluster_articles

        settings, config = _feeds()
        reports = list(reports)
        new_ids = sorted({i for r in reports for i in r["new_article_ids"]})
        clusters = cluster_articles(open_store(settings.store_url), new_ids, config.clustering) if new_ids else 0
        totals = {key: sum(r[key] for r in reports)
                  for key in ("feeds", "ok", "not_modified", "failed", "backoff", "duplicates")}
        totals.update(new_articles=len(new_ids), clusters=clusters)
        log.info("ingested %(feeds)d feeds: %(ok)d fetched, %(not_modified)d unchanged, %(failed)d failed, "
                 "%(backoff)d in back-off; %(new_articles)d new articles, %(duplicates)d duplicates, "
                 "%(clusters)d stories clustered", totals)
        if not new_ids:
            log.info("nothing new this hour: every entry was already stored, or feeds were unchanged or failing")
        return totals

    cluster_stories(ingest_batch.expand(urls=plan_batches()))


ingest_feeds()
