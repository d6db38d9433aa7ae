"""The Airflow glue: run keys, connection lookup, SMTP through the provider's hook, the shared TaskFlow tasks.

Only `dags/` and the delivery adapter import it; the rest of the library runs without Airflow.
"""
