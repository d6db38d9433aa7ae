"""
### alerts_scheduled — daily and weekly alerts

Hourly: each `daily` alert whose hour (in its timezone) falls in the run's data interval, and each
`weekly` alert whose day and hour do, gets one email with the period's matches; the period is the
ledger's batch key, so each period is sent once however often the interval is re-run.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from newsbrief.orchestration.tasks import dag_settings


@dag(dag_id="alerts_scheduled", schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
     **dag_settings(__doc__))
def alerts_scheduled():
    @task
    def send_alerts() -> dict:
        from newsbrief.alerts.tasks import run_from_context

        return run_from_context(get_current_context(), ("daily", "weekly"))

    send_alerts()


alerts_scheduled()
