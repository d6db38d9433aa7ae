"""newsbrief's web app (archive, stories, search, feeds, preferences) on Airflow's api-server.

Served at `/newsbrief/` behind Airflow's login, with an entry in Airflow's menu; the logic lives in
`newsbrief.orchestration.web_plugin` and `web_auth`. `newsbrief web` serves the same app standalone.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from newsbrief.orchestration.web_plugin import URL_PREFIX, BuiltOnFirstRequest, airflow_app, menu_href


class NewsbriefWebPlugin(AirflowPlugin):
    name = "newsbrief"
    fastapi_apps = [{"app": BuiltOnFirstRequest(airflow_app), "url_prefix": URL_PREFIX, "name": "newsbrief"}]
    external_views = [{"name": "newsbrief", "href": menu_href(), "destination": "nav", "url_route": "newsbrief"}]
