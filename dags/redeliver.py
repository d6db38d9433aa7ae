"""
### redeliver — hourly retry of digests whose send failed

Digests that failed temporarily (4xx reply, server down, dropped connection) are sent again with their
original Message-ID until delivered or older than `NEWSBRIEF_REDELIVER_MAX_AGE` (default 3d). Refused
ones (5xx) are not retried. `newsbrief deliveries --failed` lists them.
"""

from __future__ import annotations

from airflow.sdk import dag

from newsbrief.orchestration.tasks import dag_settings, redeliver_earlier


@dag(dag_id="redeliver", schedule="@hourly", **dag_settings(__doc__))
def redeliver():
    redeliver_earlier()


redeliver()
