"""CLI behaviour that needs no pipeline run: config errors are reported with the key, exit 2."""

from pipelines.cli import main


def test_run_with_invalid_config_exits_2_naming_the_key(tmp_path, capsys):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("sources:\n  - {name: x, type: openai}\n")
    assert main(["run", "--config", str(cfg), "--home", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert "sources[0].uri: required" in err and str(cfg) in err
    assert not (tmp_path / "h" / "warehouse").exists()


def test_run_with_missing_config(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_quick_instance_commits_only_on_the_instance_wal_databases(tmp_path):
    """NORMAL sync + a pinned connection on the Dagster home's WAL databases; nothing else touched."""
    import sqlite3

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from pipelines.cli import _PINNED, quick_instance_commits

    home, other = tmp_path / "dagster", tmp_path / "elsewhere"
    home.mkdir(), other.mkdir()
    for d in (home, other):
        c = sqlite3.connect(d / "index.db")
        c.execute("pragma journal_mode=WAL")
        c.close()
    sqlite3.connect(home / "rollback.db").close()  # not WAL: left alone
    quick_instance_commits(home)

    def sync_level(path):
        eng = create_engine(f"sqlite:///{path}", poolclass=NullPool)
        with eng.connect() as conn:
            return conn.execute(text("pragma synchronous")).scalar()

    assert sync_level(home / "index.db") == 1      # NORMAL
    assert sync_level(other / "index.db") == 2     # FULL, SQLite's default: outside the Dagster home
    assert sync_level(home / "rollback.db") == 2
    assert str(home / "index.db") in _PINNED and str(other / "index.db") not in _PINNED
