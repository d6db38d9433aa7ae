"""
### seed_digest — a digest of the seed files, on demand

Trigger it (with the form) when new article files land in `seeds/`: it reads the new ones, summarizes
and tags them, and sends each subscriber the stories on their topics, through the `smtp_default`
connection or, without one, into `outbox/`.

Seeds already processed (same content) are skipped unless **force** is on; a **dry run** writes
previews to `outbox/dry-run/` and sends nothing. Bad files are skipped and listed in the digest footer.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag

from newsbrief.dag_tasks import (
    DEFAULT_SENTENCES,
    build_digests,
    default_args,
    deliver,
    ingest_seeds,
    summarize,
    tag,
)
from newsbrief.summarize import ALGORITHMS, DEFAULT_ALGORITHM


@dag(
    dag_id="seed_digest",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    default_args=default_args(),
    max_active_runs=1,
    tags=["newsbrief"],
    doc_md=__doc__,
    params={
        "seeds": Param("*", type="string", title="Seed files",
                       description="Glob(s) under seeds/, comma-separated, e.g. '*.txt' or '2025-06-*'."),
        "recipients": Param([], type="array", items={"type": "string"}, title="Recipients override",
                            description="Email addresses to send to instead of subscribers.yaml (empty: the file)."),
        "algorithm": Param(DEFAULT_ALGORITHM, type="string", enum=list(ALGORITHMS), title="Summarizer"),
        "sentences": Param(DEFAULT_SENTENCES, type="integer", minimum=1, maximum=10, title="Summary sentences"),
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Render previews into outbox/dry-run/ and send nothing."),
        "force": Param(False, type="boolean", title="Force",
                       description="Process and send seeds again even if they were sent before."),
    },
)
def seed_digest():
    deliver(build_digests(tag(summarize(ingest_seeds()))))


seed_digest()
