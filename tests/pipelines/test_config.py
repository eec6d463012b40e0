"""aispend.yaml validation: errors name the file and the key; secrets only through env vars."""

import pytest

from pipelines.config import ConfigError, load_config


def write(tmp_path, text):
    p = tmp_path / "aispend.yaml"
    p.write_text(text)
    return p


def test_valid_config_with_env_expansion(tmp_path, monkeypatch):
    monkeypatch.setenv("EMU", "http://127.0.0.1:9")
    monkeypatch.setenv("AISPEND_HOME", str(tmp_path / "home"))
    cfg = load_config(write(tmp_path, """
start_date: 2026-08-18
sources:
  - {name: aws, type: aws_cur, uri: /data/cur}
  - {name: openai, type: openai, uri: "${EMU}", admin_key_env: OPENAI_KEY}
"""))
    assert cfg.home == (tmp_path / "home").resolve()
    assert [s.name for s in cfg.sources] == ["aws", "openai"]
    assert cfg.sources[1].uri == "http://127.0.0.1:9"
    assert cfg.start_date == "2026-08-18"
    assert [s.name for s in cfg.sources_of_type("openai")] == ["openai"]


def test_secret_resolved_from_named_env_var(tmp_path, monkeypatch):
    cfg = load_config(write(tmp_path, "sources:\n  - {name: oa, type: openai, uri: http://x, admin_key_env: OA_KEY}\n"))
    with pytest.raises(ConfigError, match="OA_KEY.*not set") as e:
        cfg.sources[0].secret()
    monkeypatch.setenv("OA_KEY", "sk-admin-very-secret")
    assert cfg.sources[0].secret() == "sk-admin-very-secret"
    assert "sk-admin" not in str(e.value)


@pytest.mark.parametrize("text, match", [
    ("sources:\n  - {name: a, type: nope, uri: x}\n", r"sources\[0\]\.type: unknown type 'nope'"),
    ("sources:\n  - {name: a, type: aws_cur}\n", r"sources\[0\]\.uri: required"),
    ("sources:\n  - {name: a, type: aws_cur, uri: x}\n  - {name: a, type: aws_cur, uri: y}\n", r"sources\[1\]\.name: duplicate"),
    ("sources:\n  - {name: a, type: openai, uri: x, admin_key: sk-123}\n", r"sources\[0\]\.admin_key: secrets must not be in the file"),
    ("bogus: 1\n", "unknown top-level key"),
    ("start_date: yesterday\n", "start_date"),
    ("sources:\n  - {name: a, type: openai, uri: '${NOT_SET_ANYWHERE_X}'}\n", r"sources\[0\]\.uri: environment variable NOT_SET_ANYWHERE_X"),
])
def test_invalid_configs_name_the_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match) as e:
        load_config(write(tmp_path, text))
    assert str(tmp_path / "aispend.yaml") in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
