from datetime import date, timedelta

import pytest

from newsbrief.digest.links import (
    InvalidToken,
    LinkSettings,
    list_unsubscribe_headers,
    load_link_settings,
    make_token,
    read_token,
)
from newsbrief.errors import ConfigError

SETTINGS = LinkSettings(secret=b"k" * 32, public_url="https://news.example.org", mailto=None, max_age_days=30)
PEOPLE = ["desk@example.org", "Analyst@Example.org"]


def test_a_token_names_its_subscriber_and_scope_without_showing_the_address():
    token = make_token("analyst@example.org", "alert:tariffs", settings=SETTINGS)
    assert "example" not in token and "@" not in token
    assert read_token(token, PEOPLE, settings=SETTINGS) == ("Analyst@Example.org", "alert:tariffs")


def test_altered_foreign_and_old_tokens_are_refused_with_a_reason():
    token = make_token("desk@example.org", settings=SETTINGS)
    key, scope, day, sig = token.split(".")
    with pytest.raises(InvalidToken, match="altered"):
        read_token(f"{key}.{scope}.{day}.{sig[:-1]}A" if sig[-1] != "A" else f"{key}.{scope}.{day}.{sig[:-1]}B",
                   PEOPLE, settings=SETTINGS)
    other = LinkSettings(secret=b"x" * 32, public_url=SETTINGS.public_url, mailto=None, max_age_days=30)
    with pytest.raises(InvalidToken, match="another key"):
        read_token(token, PEOPLE, settings=other)
    with pytest.raises(InvalidToken, match="no current subscriber"):
        read_token(token, ["someone@else.org"], settings=SETTINGS)
    old = make_token("desk@example.org", settings=SETTINGS, issued=date.today() - timedelta(days=31))
    with pytest.raises(InvalidToken, match="31 days old"):
        read_token(old, PEOPLE, settings=SETTINGS)
    with pytest.raises(InvalidToken):
        read_token("not-a-token", PEOPLE, settings=SETTINGS)


def test_list_unsubscribe_headers_follow_rfc_8058():
    headers = list_unsubscribe_headers("desk@example.org", settings=SETTINGS)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<https://news.example.org/unsubscribe/")
    with_mail = LinkSettings(SETTINGS.secret, SETTINGS.public_url, "unsubscribe@example.org", 30)
    assert "<mailto:unsubscribe@example.org?subject=unsubscribe%20" in list_unsubscribe_headers(
        "desk@example.org", settings=with_mail)["List-Unsubscribe"]


def test_link_settings_keep_a_generated_key_and_refuse_bad_values(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSBRIEF_SECRET_KEY", raising=False)
    monkeypatch.setenv("NEWSBRIEF_VAR_DIR", str(tmp_path))
    first = load_link_settings()
    assert load_link_settings().secret == first.secret and (tmp_path / "secret.key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("NEWSBRIEF_PUBLIC_URL", "news.example.org")
    with pytest.raises(ConfigError, match="NEWSBRIEF_PUBLIC_URL"):
        load_link_settings()
    monkeypatch.delenv("NEWSBRIEF_PUBLIC_URL")
    monkeypatch.setenv("NEWSBRIEF_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="too short"):
        load_link_settings()
