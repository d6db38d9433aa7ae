"""The DAG files import cleanly and have the shape users rely on (schedule, params, retries)."""

from datetime import timedelta

import pytest

from tests.conftest import ROOT


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
    assert [t.task_id for t in dag.topological_sort()] == ["redeliver_earlier", "ingest_seeds", "summarize", "tag",
                                                           "build_digests", "deliver"]


def test_redeliver_dag_is_hourly_and_every_digest_run_retries_failures_first(dagbag):
    assert [t.task_id for t in dagbag.dags["redeliver"].tasks] == ["redeliver_earlier"]
    for dag_id in ("seed_digest", "daily_digest"):
        assert dagbag.dags[dag_id].topological_sort()[0].task_id == "redeliver_earlier"


def test_daily_digest_runs_at_seven_in_the_configured_timezone(dagbag, monkeypatch):
    daily = dagbag.dags["daily_digest"].timetable
    assert (daily.expression, str(daily.timezone)) == ("0 7 * * *", "UTC")
    monkeypatch.setenv("NEWSBRIEF_TIMEZONE", "Europe/Berlin")
    from airflow.dag_processing.dagbag import DagBag

    berlin = DagBag(dag_folder=str(ROOT / "dags" / "daily_digest.py")).dags["daily_digest"]
    assert (berlin.timetable.expression, str(berlin.timetable.timezone)) == ("0 7 * * *", "Europe/Berlin")
    assert berlin.default_args["retry_delay"] <= timedelta(minutes=5)
