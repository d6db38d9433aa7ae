import pytest

from newsbrief.config.yamlconf import Checker, load_yaml
from newsbrief.errors import ConfigError


def test_lines_are_remembered(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("# comment\nitems:\n  - name: a\n    size: 1\n  - name: b\n    size: big\n")
    data = load_yaml(path)
    items = data["items"]
    assert items.item_lines == [3, 5] and items[1].line_of("size") == 6
    with pytest.raises(ConfigError, match=rf"{path}:6: item b: 'size' must be a number, got 'big'"):
        Checker(path).number(items[1], "size", "item b")


@pytest.mark.parametrize("text, line, words", [
    ("a: 1\na: 2\n", 2, "key 'a' appears twice (first on line 1)"),
    ("a: [1, 2\nb: 3\n", 2, "not valid YAML"),
    ("a:\n  - x\n - y\n", 3, "not valid YAML"),
])
def test_broken_yaml_points_at_the_line(tmp_path, text, line, words):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value).startswith(f"{path}:{line}: {words}")


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "latin.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="save it as UTF-8"):
        load_yaml(bad)
