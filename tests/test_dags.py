"""The DAG files import cleanly and have the shape users rely on (schedule, params, retries)."""

from datetime import timedelta

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import airflow_home  # noqa: F401, F811 - the e2e fixture, for the mapped run below


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors_and_all_dags_present(dagbag):
    assert dagbag.import_errors == {}
    assert {"seed_digest", "daily_digest", "ingest_feeds", "alerts_as_it_happens", "alerts_scheduled"} <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", ["seed_digest", "daily_digest", "ingest_feeds", "alerts_as_it_happens", "alerts_scheduled"])
def test_aware_start_no_catchup_retries_and_docs(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.start_date.tzinfo is not None
    assert dag.catchup is False
    assert dag.doc_md and dag_id in dag.doc_md
    for task in dag.tasks:
        assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries: a lost worker would fail the run"


def test_seed_digest_is_manual_with_a_parameter_form(dagbag):
    dag = dagbag.dags["seed_digest"]
    assert dag.schedule is None and not dag.timetable.can_be_scheduled
    params = dag.params
    assert set(params.keys()) == {"seeds", "recipients", "algorithm", "sentences", "dry_run", "force"}
    assert params["algorithm"] == "newsbrief" and params["sentences"] == 3 and params["dry_run"] is False
    assert [t.task_id for t in dag.topological_sort()] == ["redeliver_earlier", "ingest_seeds", "plan_article_batches",
                                                           "summarize", "tag", "build_digests", "deliver"]


def test_redeliver_dag_is_hourly_and_every_digest_run_retries_failures_first(dagbag):
    """Earlier failed digests are retried before the run's own digests are built and sent; the retry runs
    beside the ingest and summaries, not ahead of them (one task less on the way to the email)."""
    assert [t.task_id for t in dagbag.dags["redeliver"].tasks] == ["redeliver_earlier"]
    for dag_id in ("seed_digest", "daily_digest"):
        dag = dagbag.dags[dag_id]
        assert dag.topological_sort()[0].task_id == "redeliver_earlier"
        assert "redeliver_earlier" in dag.get_task("build_digests").upstream_task_ids
        assert dag.get_task("redeliver_earlier").upstream_task_ids == set()
        assert dag.get_task("ingest_seeds").upstream_task_ids == set()


def test_daily_digest_runs_at_seven_in_the_configured_timezone(dagbag, monkeypatch):
    daily = dagbag.dags["daily_digest"].timetable
    assert (daily.expression, str(daily.timezone)) == ("0 7 * * *", "UTC")
    monkeypatch.setenv("NEWSBRIEF_TIMEZONE", "Europe/Berlin")
    from airflow.dag_processing.dagbag import DagBag

    berlin = DagBag(dag_folder=str(ROOT / "dags" / "daily_digest.py")).dags["daily_digest"]
    assert (berlin.timetable.expression, str(berlin.timetable.timezone)) == ("0 7 * * *", "Europe/Berlin")
    assert berlin.default_args["retry_delay"] <= timedelta(minutes=5)


@pytest.mark.parametrize("dag_id", ["seed_digest", "daily_digest"])
def test_summarize_and_tag_are_mapped_over_batches_of_article_ids(dagbag, dag_id):
    """Dynamic task mapping: one summarize and one tag task per batch of ids (XComs of ids, never bodies)."""
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    dag = dagbag.dags[dag_id]
    for task_id in ("summarize", "tag"):
        assert isinstance(dag.get_task(task_id), MappedOperator), f"{dag_id}.{task_id} is not mapped"
    assert not isinstance(dag.get_task("build_digests"), MappedOperator)
    assert dag.get_task("summarize").upstream_task_ids == {"plan_article_batches"}
    assert dag.get_task("tag").upstream_task_ids == {"summarize"}
    assert dag.get_task("build_digests").upstream_task_ids == {"tag", "redeliver_earlier"}


def test_article_batches_cover_every_id_once_in_order():
    from newsbrief.orchestration.tasks import _flat, split_ids

    ids = list(range(1, 2502))
    batches = split_ids(ids + ids[:10], 1000)
    assert [len(b) for b in batches] == [834, 834, 833] and _flat(batches) == ids
    assert split_ids([], 1000) == [[]] and split_ids([7], 1000) == [[7]]
    assert len(split_ids(list(range(100_000)), 1000)) == 16  # bigger batches, never hundreds of tasks
    assert _flat(iter([[3, 4], [], [5]])) == [3, 4, 5]


@pytest.mark.e2e
def test_a_run_of_several_batches_maps_summarize_and_tag_and_covers_every_article(airflow_home, project):  # noqa: F811
    """`airflow dags test` with one article per batch: three seeds give three summarize and three tag task
    instances (map indexes 0-2) and every article gets its summary and tags."""
    import os
    import shutil
    import sqlite3

    from sqlalchemy import func, select

    from newsbrief.config.settings import load_settings
    from newsbrief.store import Store, Summary, Tag
    from tests.conftest import shared_path
    from tests.e2e.conftest import run_dag

    bbc = shared_path("bbc-summary-100", "article")
    for topic in ("sport", "business"):  # stories whose topic no tagger can miss: the seed and these are all tagged
        shutil.copy(bbc / topic / "001.txt", project / "seeds" / f"bbc_{topic}.txt")
    env = dict(airflow_home)
    env.update({k: v for k, v in os.environ.items() if k.startswith("NEWSBRIEF_") and k != "NEWSBRIEF_RETRY_DELAY_SECONDS"})
    env["NEWSBRIEF_ARTICLES_PER_TASK"] = "1"
    proc = run_dag(env, "seed_digest", conf={})
    assert proc.returncode == 0, proc.stdout[-5000:]
    with sqlite3.connect(os.path.join(airflow_home["AIRFLOW_HOME"], "airflow.db")) as db:
        rows = db.execute("SELECT task_id, map_index FROM task_instance WHERE dag_id = 'seed_digest' "
                          "AND task_id IN ('summarize', 'tag') AND state = 'success'").fetchall()
    assert sorted(rows) == [("summarize", 0), ("summarize", 1), ("summarize", 2), ("tag", 0), ("tag", 1), ("tag", 2)]
    store = Store(load_settings().store_url)
    with store.session() as s:
        assert s.scalar(select(func.count(func.distinct(Summary.article_id)))) == 3
        assert s.scalar(select(func.count(func.distinct(Tag.article_id)))) == 3
    store.dispose()
