"""The home holds the organisation's bills and usage: after `aispend run` nothing under it is
readable by other users of the host. Before, every file was 0644 and every folder 0755 (the
process umask); now 0600/0700, or 0640/0750 with ``home_mode: group`` — the raw lake, the load
log, Dagster's storage and compute logs, the run log and the published warehouse (which arrives
by rename) included.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from aispend_cli import aispend
from pipelines.config import ConfigError, load_config
from test_sensors import NAME, write_period


def _modes(home: Path) -> dict[str, int]:
    """{path relative to the home: permission bits} for the home and everything under it."""
    out = {".": stat.S_IMODE(home.stat().st_mode)}
    for root, dirs, files in os.walk(home):
        for name in dirs + files:
            p = Path(root) / name
            out[str(p.relative_to(home))] = stat.S_IMODE(p.lstat().st_mode)
    return out


@pytest.mark.faults("survived")
@pytest.mark.parametrize("mode, dir_mode, file_mode", [("private", 0o700, 0o600), ("group", 0o750, 0o640)])
def test_run_writes_the_home_readable_by_owner_or_group_only(tmp_path, mode, dir_mode, file_mode):
    write_period(tmp_path / "exports" / NAME, "2026-10", [[1.0, 2.0]])
    home = tmp_path / "home"
    # a home made before this setting: world-readable, with a file from then
    (home / "warehouse").mkdir(parents=True)
    old = home / "warehouse" / "notes.txt"
    old.write_text("older file")
    os.chmod(home / "warehouse", 0o755)
    os.chmod(old, 0o644)
    os.chmod(home, 0o755)
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"home_mode: {mode}\nstart_date: 2026-10-01\nsources:\n"
                   f"  - {{name: payer, type: aws_cur, uri: exports/{NAME}}}\n")

    proc = aispend("run", "--config", str(cfg), "--home", str(home), "--end", "2026-10-02", home=home)
    assert proc.returncode == 0, proc.stderr

    modes = _modes(home)
    published = home / "warehouse" / "aispend.duckdb"
    for must in ("warehouse/aispend.duckdb", "warehouse/build/aispend.build.duckdb", "dagster/dagster.yaml",
                 "dagster/storage", "logs", "lake/_loads", "lake/raw/aws_cur/source=payer/billing_period=2026-10"):
        assert must in modes, must
    assert any(k.startswith("logs/run-") for k in modes)
    assert "dagster/history/runs.db" in modes and any(k.endswith("compute_logs") for k in modes)
    assert published.stat().st_size > 0
    wrong = {k: oct(v) for k, v in modes.items()
             if v != (dir_mode if (home / k).is_dir() and not (home / k).is_symlink() else file_mode)}
    assert wrong == {}
    assert len(modes) > 30  # the walk saw the whole home, not an empty folder


def test_home_mode_is_validated_and_the_env_var_overrides_it(tmp_path, monkeypatch):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("home_mode: world\n")
    with pytest.raises(ConfigError, match=r"aispend.yaml: home_mode: 'world' must be one of private, group"):
        load_config(cfg)
    cfg.write_text("home_mode: group\n")
    assert load_config(cfg).home_mode == "group"
    monkeypatch.setenv("AISPEND_HOME_MODE", "private")
    assert load_config(cfg).home_mode == "private"
    monkeypatch.setenv("AISPEND_HOME_MODE", "public")
    with pytest.raises(ConfigError, match=r"^AISPEND_HOME_MODE: 'public' must be one of private, group$"):
        load_config(cfg)
    monkeypatch.delenv("AISPEND_HOME_MODE")
    cfg.write_text("home_mod: group\n")
    with pytest.raises(ConfigError, match=r"home_mod: unknown top-level key .*did you mean 'home_mode'\?"):
        load_config(cfg)
