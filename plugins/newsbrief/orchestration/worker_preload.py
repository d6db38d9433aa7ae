"""Imported once by each Celery worker before it forks its pool (Celery's ``imports`` setting, given in
docker-compose.yml as ``[celery] extra_celery_config``): what every task process would otherwise
import or parse again.

Airflow forks a process per task, which parses its DAG file and so imports newsbrief; the tasks then
import NLTK (sumy's stemmer, about 1 s), configure the store's ORM mappers (which makes Airflow import
all of its own models), read Alembic's migration scripts and parse topics.yaml and subscribers.yaml.
Done here, all of that is inherited by every task process instead, as Airflow already does for its
own operator modules. A configuration that does not load is only logged here: the task that needs it
fails with the file and line to fix.
"""

from __future__ import annotations

import gc
import logging

import sumy.nlp.stemmers  # noqa: F401 - NLTK, for the stemmers of the taxonomy, the summarizers and clustering
from sqlalchemy.orm import configure_mappers

import newsbrief.alerts.tasks  # noqa: F401 - what the DAG files' tasks import
import newsbrief.sources.feeds  # noqa: F401
from newsbrief.orchestration import tasks
from newsbrief.store import migrate

log = logging.getLogger(__name__)


def preload() -> None:
    configure_mappers()
    migrate.script_directory()
    try:
        tasks.load_config()
    except Exception as exc:  # noqa: BLE001 - reported again, with its fix, by the first task that reads it
        log.warning("newsbrief configuration not preloaded: %s", exc)
    gc.freeze()  # keeps the preloaded objects out of the collector, so the forks keep sharing their pages


preload()
