"""
### alerts_as_it_happens — saved searches, as new articles arrive

Runs whenever `ingest_feeds` publishes the `newsbrief://articles` asset: each `as_it_happens` alert
of `config/subscribers.yaml` gets one email with what matched since its last one (at most one email
every `min_interval_minutes`, nothing in its quiet hours). The alerts ledger sends an article at most
once per alert, across retries and overlapping runs.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, get_current_context, task

from newsbrief.orchestration.tasks import dag_settings

ARTICLES = Asset("newsbrief://articles")


@dag(dag_id="alerts_as_it_happens", schedule=[ARTICLES], **dag_settings(__doc__))
def alerts_as_it_happens():
    @task
    def send_alerts() -> dict:
        from newsbrief.alerts.tasks import run_from_context

        return run_from_context(get_current_context(), ("as_it_happens",))

    send_alerts()


alerts_as_it_happens()
