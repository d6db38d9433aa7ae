"""newsbrief: news summarization and alerting on Apache Airflow 3 (the library; runs without Airflow).

OpenBLAS is held to one thread unless the environment says otherwise: newsbrief's matrices are a few
dozen sentences wide, where BLAS threads only spin (a third of the summary selection's CPU at 10k
articles), and Airflow/Celery already run one task per core. It takes effect only if numpy is not yet
imported, which is why it is here.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
