# newsbrief's Airflow image: the official image of the Airflow version the lock pins, plus the
# project's locked dependencies, installed once here instead of at every container start.
FROM apache/airflow:3.3.2-python3.11

# The project root is AIRFLOW_HOME, so the editable install maps `newsbrief` to
# /opt/airflow/plugins/newsbrief: the same files whether they come from this image or from the
# ./plugins bind mount of docker-compose.yml.
COPY --chown=airflow:0 requirements.lock pyproject.toml README.md /opt/airflow/

# The image already holds apache-airflow (and its providers) installed under Airflow's own
# constraints. Naming "apache-airflow==${AIRFLOW_VERSION}" next to the lock makes pip fail at build
# time if the lock ever pins another Airflow than the base image, instead of silently replacing
# it; every other pin of the lock (celery 5.6 among them) wins over the image's constraints, so the
# containers run exactly the set the test suite runs.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/airflow/requirements.lock

COPY --chown=airflow:0 plugins /opt/airflow/plugins
RUN pip install --no-cache-dir --no-deps -e /opt/airflow

# Baked in so that a worker on another machine needs only the image; docker-compose.yml mounts
# the working tree over them for development.
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 templates /opt/newsbrief/templates
COPY --chown=airflow:0 seeds /opt/newsbrief/seeds
COPY --chown=airflow:0 config /opt/newsbrief/config

# Owned by airflow so that named volumes mounted here start writable.
USER root
RUN mkdir -p /opt/airflow/auth /opt/newsbrief/outbox \
    && chown -R airflow:0 /opt/airflow/auth /opt/newsbrief \
    && chmod 0770 /opt/airflow/auth
USER airflow

ENV NEWSBRIEF_CONFIG_DIR=/opt/newsbrief/config \
    NEWSBRIEF_SEEDS_DIR=/opt/newsbrief/seeds \
    NEWSBRIEF_TEMPLATES_DIR=/opt/newsbrief/templates \
    NEWSBRIEF_OUTBOX_DIR=/opt/newsbrief/outbox
