"""What the alerts DAGs run: the interval from the Airflow context, then `run_alerts`.

The interval is the run's data interval when it has one (the hourly `alerts_scheduled`); an
asset-triggered run of `alerts_as_it_happens` has none, so its end is the latest triggering
`newsbrief://articles` event's timestamp (or the run's `run_after` when started by hand): a fixed
property of the run, so a retry computes the same interval.
"""

from __future__ import annotations

import logging
from datetime import timedelta

log = logging.getLogger(__name__)


def interval_from_context(context) -> tuple:
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is not None and end is not None and end > start:
        return start, end
    stamps = [e.timestamp for events in (context.get("triggering_asset_events") or {}).values() for e in events
              if getattr(e, "timestamp", None) is not None]
    dag_run = context.get("dag_run")
    end = max(stamps) if stamps else (getattr(dag_run, "run_after", None) or end)
    return end - timedelta(hours=1), end + timedelta(seconds=1)


def run_from_context(context, frequencies: tuple[str, ...]) -> dict:
    from newsbrief.alerts.delivery import run_alerts
    from newsbrief.alerts.subscriptions import active_alerts
    from newsbrief.config.settings import load_settings
    from newsbrief.config.subscribers import load_subscribers
    from newsbrief.digest.delivery import choose_channel
    from newsbrief.digest.preferences import active_alerts as unmuted
    from newsbrief.store import open_store
    from newsbrief.tagging import load_taxonomy

    settings = load_settings()
    taxonomy = load_taxonomy(settings.topics_file)
    known = set(taxonomy.ids)
    subscribers = load_subscribers(settings.subscribers_file, known_topics=known)
    store = open_store(settings.store_url)
    alerts = unmuted(store, [a.alert for a in active_alerts(store, subscribers, known_topics=known)])
    start, end = interval_from_context(context)
    target = choose_channel(settings.delivery)
    report = run_alerts(store, alerts, start=start, end=end,
                        templates_dir=settings.templates_dir, outbox_dir=settings.outbox_dir, target=target,
                        frequencies=frequencies)
    log.info("alerts %s for [%s, %s): %d sent (%s); %d waiting for their interval or quiet hours; %d failed",
             "/".join(frequencies), start, end, len(report.sent), "; ".join(report.sent) or "none",
             len(report.waiting), len(report.failed))
    return {"sent": report.sent, "waiting": len(report.waiting), "failed": sorted(report.failed)}
