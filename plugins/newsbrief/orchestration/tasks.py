"""The TaskFlow tasks both digest DAGs share (Airflow glue: the stages themselves live in the stage subpackages).

Tasks pass article and digest ids through XCom, never bodies, and derive their run key from the
run's data interval (or run id for manual runs), so a retried task repeats the same work.

Summarize and tag are mapped over batches of article ids (`plan_article_batches`, then `.expand()`), so
a large run is shared by several Celery workers; a small run is one batch, one task each as before.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, get_current_context, task

from newsbrief.config.settings import load_settings
from newsbrief.digest import build, delivery
from newsbrief.orchestration.glue import run_key_from_context
from newsbrief.sources import seed_ingest
from newsbrief.store import open_store
from newsbrief.tagging import stage as tag_stage
from newsbrief.text import stage as summary_stage
from newsbrief.text.summarize import ALGORITHMS, DEFAULT_ALGORITHM

log = logging.getLogger(__name__)

DEFAULT_SENTENCES = 3
ARTICLES_PER_TASK = 1000
MAX_ARTICLE_TASKS = 16


def default_args() -> dict:
    """Retries on every task: a lost worker must not fail the run (Airflow's default is 0 retries)."""
    return {
        "owner": "newsbrief",
        "retries": int(os.environ.get("NEWSBRIEF_TASK_RETRIES", "3")),
        "retry_delay": timedelta(seconds=float(os.environ.get("NEWSBRIEF_RETRY_DELAY_SECONDS", "30"))),
    }


def dag_settings(doc: str | None) -> dict:
    """What every newsbrief DAG shares: an aware start, no catch-up, one run at a time, retries."""
    return {
        "start_date": pendulum.datetime(2025, 1, 1, tz="UTC"),
        "catchup": False,
        "default_args": default_args(),
        "max_active_runs": 1,
        "tags": ["newsbrief"],
        "doc_md": doc,
    }


def digest_params() -> dict:
    """The trigger form of both digest DAGs."""
    return {
        "seeds": Param("*", type="string", title="Seed files",
                       description="Glob(s) under seeds/, comma-separated, e.g. '*.txt' or '2025-06-*'."),
        "recipients": Param([], type="array", items={"type": "string"}, title="Recipients override",
                            description="Email addresses to send to instead of subscribers.yaml (empty: the file)."),
        "algorithm": Param(DEFAULT_ALGORITHM, type="string", enum=list(ALGORITHMS), title="Summarizer"),
        "sentences": Param(DEFAULT_SENTENCES, type="integer", minimum=1, maximum=10, title="Summary sentences"),
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Render previews into outbox/dry-run/ and send nothing."),
        "force": Param(False, type="boolean", title="Force",
                       description="Process seeds again that were processed before; recipients who already received a story never get a second copy."),
    }


def _run_key() -> str:
    context = get_current_context()
    key = run_key_from_context(context)
    if context["params"].get("dry_run"):
        key = seed_ingest.DRY_RUN_PREFIX + key
    return key


def _run_label(context, timezone: str) -> str:
    """A reader's name for the run: 'Daily digest, 05 Jun 2025' or 'Seed digest, 05 Jun 2025 14:02'."""
    from zoneinfo import ZoneInfo

    dag_run = context.get("dag_run")
    when = context.get("data_interval_end") or getattr(dag_run, "run_after", None)
    title = context["dag"].dag_id.replace("_", " ").capitalize()
    if when is None:
        return title
    local = when.astimezone(ZoneInfo(timezone))
    scheduled = context.get("data_interval_start") is not None and context["data_interval_start"] != when
    return f"{title}, {local:%d %b %Y}" if scheduled else f"{title}, {local:%d %b %Y %H:%M} {local.tzname()}"


_PARSED: dict = {}


def _on_disk(*paths) -> tuple:
    """What identifies the files' contents without reading them: path, inode, size, modification time."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            return ()
        out.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def load_config():
    """Settings, taxonomy and subscribers. The two files are parsed again only when one of them changed:
    each task process inherits what the Celery worker parsed before forking it (`worker_preload`), and
    parsing topics.yaml stems every term."""
    from newsbrief.config.subscribers import load_subscribers
    from newsbrief.tagging import load_taxonomy

    settings = load_settings()
    key = _on_disk(settings.topics_file, settings.subscribers_file)
    if key and key in _PARSED:
        taxonomy, subscribers = _PARSED[key]
        return settings, taxonomy, list(subscribers)
    taxonomy = load_taxonomy(settings.topics_file)
    subscribers = load_subscribers(settings.subscribers_file, known_topics={t.id for t in taxonomy.topics})
    if key:
        _PARSED.clear()
        _PARSED[key] = (taxonomy, subscribers)
    return settings, taxonomy, subscribers


def _algorithm(params) -> tuple[str, int]:
    algorithm = (params.get("algorithm") or DEFAULT_ALGORITHM).lower()
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}")
    return algorithm, int(params.get("sentences") or DEFAULT_SENTENCES)


@task
def ingest_seeds() -> list[int]:
    """Read new seed files (config is checked first, so a typo fails the run before any work)."""
    settings, _, _ = load_config()
    params = get_current_context()["params"]
    result = seed_ingest.ingest_seed_files(open_store(settings.store_url), settings, _run_key(),
                                        patterns=params.get("seeds") or "*", force=bool(params.get("force")))
    log.info("%d seed articles for this run; %d already processed; %d files refused",
             len(result.article_ids), len(result.already_known), len(result.problems))
    return result.article_ids


@task
def select_interval_articles(seed_ids: list[int]) -> list[int]:
    """This run's seeds plus the feed articles ingested during the run's data interval."""
    context = get_current_context()
    settings = load_settings()
    ids = build.articles_for_interval(open_store(settings.store_url), _run_key(),
                                         context.get("data_interval_start"), context.get("data_interval_end"))
    return sorted(set(ids) | set(seed_ids))


def split_ids(article_ids: list[int], per_batch: int, max_batches: int = MAX_ARTICLE_TASKS) -> list[list[int]]:
    """Contiguous batches of the ids in order, each id once: at most `max_batches` (bigger batches beyond
    that, so a huge run never becomes hundreds of tasks), and always one, possibly empty, so the digest
    steps still run and say that nothing was new."""
    ids = list(dict.fromkeys(article_ids))
    count = max(1, min(max_batches, -(-len(ids) // max(per_batch, 1))))
    size = -(-len(ids) // count) if ids else 0
    return [ids[i * size:(i + 1) * size] for i in range(count)]


def _flat(batches) -> list[int]:
    """The ids of the mapped tasks' results (one list per map index, in index order) as one list."""
    out: list[int] = []
    for batch in batches:
        out.extend(batch if isinstance(batch, list) else [batch])
    return out


@task
def plan_article_batches(article_ids: list[int]) -> list[list[int]]:
    """Record every article's template lines first (what summarize_articles does before any summary), so each
    mapped summary sees the furniture of the whole run, as one task would; then split the ids into batches of
    NEWSBRIEF_ARTICLES_PER_TASK (default 1000)."""
    from newsbrief.config.settings import positive_int_env

    per_batch = positive_int_env("NEWSBRIEF_ARTICLES_PER_TASK", ARTICLES_PER_TASK, "articles",
                                 "NEWSBRIEF_ARTICLES_PER_TASK=1000")
    store = open_store(load_settings().store_url)
    for ids in summary_stage.batches(article_ids):
        with store.session() as s:
            summary_stage.learn_templates(s, ids)
    batches = split_ids(article_ids, per_batch)
    log.info("%d articles in %d batches of up to %d", len(article_ids), len(batches), per_batch)
    return batches


@task
def summarize(article_ids: list[int]) -> list[int]:
    params = get_current_context()["params"]
    algorithm, sentences = _algorithm(params)
    settings = load_settings()
    return summary_stage.summarize_articles(open_store(settings.store_url), article_ids, algorithm=algorithm,
                                       sentences=sentences)


@task
def tag(article_ids: list[int]) -> list[int]:
    settings, taxonomy, _ = load_config()
    return tag_stage.tag_articles(open_store(settings.store_url), article_ids, taxonomy)


@task
def build_digests(article_ids) -> list[int]:
    """One digest per recipient over all the run's articles (`article_ids`: the mapped tag tasks' batches)."""
    from newsbrief.config.subscribers import override_recipients

    article_ids = _flat(article_ids)
    context = get_current_context()
    params = context["params"]
    settings, taxonomy, subscribers = load_config()
    algorithm, sentences = _algorithm(params)
    recipients = override_recipients(params.get("recipients"), subscribers)
    return build.build_digests(
        open_store(settings.store_url), settings, _run_key(), article_ids, recipients, taxonomy,
        algorithm=algorithm, sentences=sentences, resend=bool(params.get("force")),
        problems_since=context.get("data_interval_start"), run_label=_run_label(context, settings.timezone),
    )


@task
def deliver(digest_ids: list[int]) -> dict:
    """Send (or preview, on a dry run). A temporary failure fails the task after the others are sent, so
    Airflow's retry sends only it; a permanent refusal (5xx) is recorded as rejected and reported in the
    log and the next digests' footer, and never fails the task: no retry could change the answer."""
    params = get_current_context()["params"]
    settings = load_settings()
    report = delivery.deliver(open_store(settings.store_url), settings, digest_ids,
                              dry_run=bool(params.get("dry_run")))
    where = sorted({str(os.path.dirname(p)) for p in report.locations if not p.startswith("smtp://")})
    temporary = {r: e for r, e in report.failed.items() if r not in report.rejected}
    log.info("delivery via %s: %d sent, %d already sent before, %d failed, %d rejected%s", report.channel,
             len(report.sent), len(report.skipped), len(temporary), len(report.rejected),
             f"; digests written to {', '.join(where)}" if where else "")
    for reason in report.rejected.values():
        log.error("rejected, not retried: %s", reason)
    if temporary:
        raise RuntimeError("digest delivery failed for " + "; ".join(f"{r}: {e}" for r, e in temporary.items())
                           + " (the others were delivered; a retry sends only these)")
    return {"channel": report.channel, "sent": report.sent, "skipped": report.skipped,
            "rejected": sorted(report.rejected), "locations": report.locations}


@task
def redeliver_earlier() -> dict:
    """Retry earlier digests whose send failed temporarily (original Message-IDs); never fails the run."""
    context = get_current_context()
    if (context.get("params") or {}).get("dry_run"):
        log.info("dry run: earlier failed digests are not retried")
        return {"sent": [], "failed": [], "rejected": []}
    settings = load_settings()
    now = context.get("data_interval_end") or getattr(context.get("dag_run"), "run_after", None)
    report = delivery.redeliver_failed(open_store(settings.store_url), settings, now=now)
    for recipient, reason in report.failed.items():
        log.warning("still not delivered to %s: %s", recipient, reason)
    return {"sent": report.sent, "failed": sorted(report.failed), "rejected": sorted(report.rejected)}
