import pytest

from newsbrief.config.settings import PROJECT_ROOT, load_settings
from newsbrief.errors import ConfigError


def test_defaults_are_project_local(monkeypatch):
    for name in ("NEWSBRIEF_STORE_URL", "NEWSBRIEF_VAR_DIR", "NEWSBRIEF_CONFIG_DIR", "NEWSBRIEF_DELIVERY"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert s.store_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'newsbrief.db'}"
    assert s.topics_file == PROJECT_ROOT / "config" / "topics.yaml"
    assert s.delivery == "auto"


@pytest.mark.parametrize("name, value, words", [
    ("NEWSBRIEF_DELIVERY", "email", "unknown delivery mode 'email'"),
    ("NEWSBRIEF_TIMEZONE", "Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
    ("NEWSBRIEF_MAX_SEED_BYTES", "lots", "must be a positive number of bytes"),
])
def test_wrong_values_name_the_variable_and_the_fix(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith(f"{name}: {words}") and "fix:" in str(info.value)
