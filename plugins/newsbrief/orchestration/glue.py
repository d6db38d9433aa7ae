"""The only module that touches Airflow: connection lookup, SMTP through the provider's hook, run keys.

Everything else in newsbrief is plain Python; importing this module without Airflow installed works,
and SMTP then counts as not configured.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

SMTP_CONN_ID = "smtp_default"
DEFAULT_SENDER = "newsbrief@localhost"  # when the connection names no from_email


@dataclass(frozen=True)
class SmtpTarget:
    conn_id: str
    host: str
    port: int | None
    from_email: str


def smtp_target(conn_id: str = SMTP_CONN_ID) -> SmtpTarget | None:
    """The configured SMTP connection, or None when there is none (then digests go to the outbox)."""
    if importlib.util.find_spec("airflow.providers.smtp") is None:
        return None
    try:
        from airflow.sdk.bases.hook import BaseHook
    except ImportError:
        return None
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException and friends, across Airflow versions
        log.debug("no %s connection: %s", conn_id, exc)
        return None
    extra = conn.extra_dejson or {}
    return SmtpTarget(conn_id=conn_id, host=conn.host or "", port=conn.port,
                      from_email=extra.get("from_email") or DEFAULT_SENDER)


class SmtpUnavailable(Exception):
    """The SMTP server could not be reached or refused us; the message names it and the fix."""


@contextmanager
def smtp_session(target: SmtpTarget) -> Iterator:
    """An open SMTP client from the provider's hook (TLS, auth and retries as the connection says)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    where = f"{target.host}:{target.port}" if target.port else target.host
    try:
        hook = SmtpHook(smtp_conn_id=target.conn_id)
        hook.get_conn()
    except Exception as exc:
        raise SmtpUnavailable(
            f"SMTP server {where} (connection '{target.conn_id}') cannot be reached: {exc or type(exc).__name__} "
            f"(fix: check the connection's host, port and TLS extras, or set NEWSBRIEF_DELIVERY=outbox)"
        ) from exc
    try:
        # The hook only builds HTML-only messages; we send our own multipart/alternative through its client.
        yield hook._smtp_client
    finally:
        try:
            hook.__exit__(None, None, None)
        except Exception:
            log.debug("closing SMTP connection failed", exc_info=True)


def run_key_from_context(context) -> str:
    """The identity of a run's work: the data interval when there is one, else the run id (manual runs)."""
    dag_id = context["dag"].dag_id
    start = context.get("data_interval_start")
    end = context.get("data_interval_end")
    dag_run = context.get("dag_run")
    run_type = str(getattr(dag_run, "run_type", "")) if dag_run else ""
    if start is not None and end is not None and "manual" not in run_type.lower():
        return f"{dag_id}/{start.isoformat()}/{end.isoformat()}"
    return f"{dag_id}/{context['run_id']}"
