"""The `aispend` CLI as a user meets it: bad values are one line naming the key (exit 2, nothing
written); a run that loads nothing fails instead of publishing empty marts; failing runs leave their
error in a log file of their own; Ctrl-C is one line and exit 130."""

import os
import re
import signal
import socketserver
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines.cli import main

REPO = Path(__file__).resolve().parents[2]


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


# --- every bad value is one line naming the key; nothing is written ------------------------------
def _config(tmp_path, text: str) -> Path:
    (tmp_path / "exports").mkdir(exist_ok=True)
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(text)
    return cfg


def _run_cli(argv, capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("text, args, line", [
    ("sources:\n  - {name: aws, type: aws_cur, uri: exports}\n", [],
     "config error: {cfg}: start_date: required (the first day to ingest, YYYY-MM-DD, e.g. start_date: {month})"),
    ("start_date: 2023-13-01\nsources:\n  - {name: aws, type: aws_cur, uri: exports}\n", [],
     "config error: {cfg}: start_date: '2023-13-01' is not a valid date (month must be in 1..12)"),
    ("start_date: 2023-01-01\nsources:\n  - {name: aws, type: aws_cur, uri: exports}\n", ["--end", "2023-11-3x"],
     "aispend run: error: --end: '2023-11-3x' is not a date written YYYY-MM-DD"),
    ("start_date: 2023-01-01\nsources:\n  - {name: aws, type: aws_cur, uri: exports}\n", ["--end", "2022-12-31"],
     "aispend run: error: --end: 2022-12-31 is before start_date 2023-01-01 (in {cfg}); nothing to ingest"),
    ("start_date: 2999-01-01\nsources:\n  - {name: aws, type: aws_cur, uri: exports}\n", [],
     "config error: {cfg}: start_date: 2999-01-01 is in the future (today is {today} UTC): there is no complete daily "
     "partition yet; the first, 2999-01-01, is complete at 2999-01-02 00:00 UTC; nothing to ingest"),
    # a start date of today: no daily partition has ended yet (Dagster would fail with a CheckError)
    ("start_date: {today}\nsources:\n  - {name: aws, type: aws_cur, uri: exports}\n", [],
     "config error: {cfg}: start_date: {today} is today (UTC): there is no complete daily partition yet; the first, "
     "{today}, is complete at {tomorrow} 00:00 UTC; nothing to ingest"),
    ("start_date: {yesterday}\nsources:\n  - {name: aws, type: aws_cur, uri: exports}\n", ["--end", "{today}"],
     "aispend run: error: --end: {today} is not a complete UTC day yet (the last complete day is {yesterday}; a day "
     "is ingested once it has ended)"),
    ("start_date: 2023-01-01\nsources:\n  - {name: a, type: aws_cur, uri: exports}\n"
     "  - {name: b, type: aws_cur, uri: exports}\n  - {name: c, type: aws_cur, uri: exports}\n"
     "  - {name: d, type: aws_cur_legacy, uri: 's3://bucket/cur', rol_arn: 'arn:aws:iam::123456789012:role/r'}\n", [],
     "config error: {cfg}: sources[3].rol_arn: unknown option for type aws_cur_legacy; did you mean 'role_arn'?"),
    ("start_date: 2023-01-01\nsources:\n  - {name: oa, type: openai, uri: 'http://127.0.0.1:9', admin_key_env: K, "
     "refetch_days: x}\n", [],
     "config error: {cfg}: sources[0].refetch_days: 'x' must be a whole number from 0 to 366"),
    ("start_date: 2023-01-01\nalerts:\n  - {slack_webhook_env: SLACK_URL}\n", [],
     "config error: {cfg}: alerts: alert channels (Slack, email, webhooks) are not supported yet; remove the block: "
     "the weekly anomaly digest is written to $AISPEND_HOME/alerts/anomaly-digest-<week end>.md and stdout by "
     "`aispend alert` and the weekly_anomaly_job"),
    # checked at start, before any partition is written: local paths, env vars
    ("start_date: 2023-01-01\nsources:\n  - {name: aws, type: aws_cur, uri: exports}\n"
     "  - {name: gcp, type: gcp_billing, uri: gcp-exprots}\n", [],
     "config error: {cfg}: sources[1].uri: {tmp}/gcp-exprots does not exist"),
    ("start_date: 2023-01-01\nsources:\n  - {name: legacy, type: aws_cur_legacy, uri: 'exports/*.csv.gz'}\n", [],
     "config error: {cfg}: sources[0].uri: no file matches {tmp}/exports/*.csv.gz"),
    ("start_date: 2023-01-01\nsources:\n  - {name: aws, type: aws_cur, uri: exports}\n  - {name: oa, type: openai, "
     "uri: 'http://127.0.0.1:9', admin_key_env: AISPEND_TEST_UNSET_KEY}\n", [],
     "config error: {cfg}: sources[1].admin_key_env: environment variable AISPEND_TEST_UNSET_KEY is not set"),
])
def test_bad_values_are_one_line_naming_the_key_and_nothing_is_written(tmp_path, capsys, monkeypatch, text, args, line):
    monkeypatch.delenv("AISPEND_TEST_UNSET_KEY", raising=False)
    today = datetime.now(timezone.utc).date()
    days = dict(today=today, yesterday=today - timedelta(days=1), tomorrow=today + timedelta(days=1))
    text, args = text.replace("{today}", str(today)).replace("{yesterday}", str(days["yesterday"])), \
        [a.format(**days) for a in args]
    cfg, home = _config(tmp_path, text), tmp_path / "home"
    rc, out, err = _run_cli(["run", "--config", str(cfg), "--home", str(home), *args], capsys)
    expected = line.format(cfg=cfg, tmp=tmp_path, month=date.today().replace(day=1), **days)
    assert (rc, out, err) == (2, "", expected + "\n")
    assert not home.exists()  # no lake/, no warehouse, not even a log


# --- a run that loads nothing -------------------------------------------------------------------
def test_run_where_no_source_has_data_fails_and_publishes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    cfg = _config(tmp_path, "start_date: 2026-10-01\nsources:\n  - {name: payer, type: aws_cur, uri: exports}\n")
    home = tmp_path / "home"
    rc, out, err = _run_cli(["run", "--config", str(cfg), "--home", str(home), "--end", "2026-10-02"], capsys)
    assert rc == 1
    assert re.fullmatch(r"  billing ingest 2026-10\.\.2026-10: ok in \d+\.\ds\n"
                        r"  loaded this run, per source:\n"
                        r"    payer +aws_cur +0 rows   0 partitions written, 0 unchanged, "
                        r"1 without a complete export\n",
                        out), out
    (log,) = (home / "logs").glob("run-*.log")
    assert err == (
        f"WARNING: source 'payer' (aws_cur): no rows found for 2026-10..2026-10 under {tmp_path}/exports; "
        "check its uri and start_date\n"
        "\ndaily ingest 2026-10-01..2026-10-02 + dbt build + publish failed; nothing was published and the previous "
        "warehouse is unchanged.\n"
        "  step aispend_dbt: no configured source has any data in the raw zone ('payer' (aws_cur)); nothing built or "
        "published: check each source's uri and start_date (2026-10-01)\n"
        f"  full log: {log}\n")
    assert not (home / "warehouse" / "aispend.duckdb").exists()
    assert not (home / "warehouse" / "build").exists()  # dbt never ran


# --- failure logs: stdout and stderr, one file per run -------------------------------------------
def test_failing_run_log_holds_the_error_and_every_run_gets_its_own_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    cfg = _config(tmp_path, "start_date: 2026-10-01\nsources:\n  - {name: traces, type: otel_traces, uri: exports}\n")
    home = tmp_path / "home"
    argv = ["run", "--config", str(cfg), "--home", str(home), "--end", "2026-10-02"]
    results = [_run_cli(argv, capsys), _run_cli(argv, capsys)]  # back to back: within a second or two
    logs = sorted((home / "logs").glob("run-*.log"))
    assert len(logs) == 2
    problem = ("otel_spans: source 'traces' (otel_traces): nothing written, previous data kept: "
               f"otel_traces: {tmp_path}/exports: no trace files found")
    for (rc, out, err), log in zip(results, logs):
        assert (rc, out) == (1, "")
        assert err == ("\ndaily ingest 2026-10-01..2026-10-02 + dbt build + publish failed; nothing was published and "
                       f"the previous warehouse is unchanged.\n  step raw__otel_spans: {problem}\n  full log: {log}\n")
        text = log.read_text()
        assert problem in text and "STEP_FAILURE" in text and "Stack Trace" in text  # Dagster's stderr logger
    assert not (home / "warehouse" / "aispend.duckdb").exists()


# --- Ctrl-C: one line, exit 130 ------------------------------------------------------------------
@pytest.fixture()
def hanging_api():
    """An HTTP peer that accepts a request and never answers: a run blocks inside its ingest step."""
    connected, release = threading.Event(), threading.Event()

    class Hang(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.recv(65536)
            connected.set()
            release.wait(120)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Hang)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", connected
    release.set()
    server.shutdown()
    server.server_close()


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path, hanging_api):
    url, connected = hanging_api
    cfg = _config(tmp_path, f"start_date: 2026-10-01\nsources:\n"
                            f"  - {{name: oa, type: openai, uri: '{url}', admin_key_env: AISPEND_TEST_KEY}}\n")
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(REPO), "AISPEND_TEST_KEY": "sk-admin-test-value",
           "DAGSTER_HOME": str(tmp_path / "dagster")}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("aispend")), "run", "--config", str(cfg),
                             "--home", str(home), "--end", "2026-10-02"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert connected.wait(180), "the run never reached the API"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    (log,) = (home / "logs").glob("run-*.log")
    assert (proc.returncode, out) == (130, "")
    assert err.splitlines() == [f"interrupted: aispend run during daily ingest 2026-10-01..2026-10-02 + dbt build + "
                                f"publish; nothing from it was published; log: {log}"]
    assert "DagsterExecutionInterruptedError" in log.read_text()
    assert not (home / "warehouse" / "aispend.duckdb").exists()
    assert "sk-admin-test-value" not in log.read_text() + err


# --- the closing report: rows per source, a WARNING for each source without rows -----------------
def test_run_reports_rows_per_source_and_warns_about_sources_without_rows(tmp_path, capsys, monkeypatch):
    """Three AWS exports: one already loaded and unchanged, one new (3 rows), one that offers nothing."""
    import dagster as dg
    import duckdb

    from pipelines.definitions import build_definitions
    from test_sensors import write_period

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    write_period(tmp_path / "old", "2026-10", [[10.0]])
    write_period(tmp_path / "new", "2026-10", [[1.0, 2.0], [3.0]])
    home = tmp_path / "home"
    first = _config(tmp_path, "start_date: 2026-10-01\nsources:\n  - {name: old, type: aws_cur, uri: old}\n")
    defs = build_definitions(str(first), str(home))  # the earlier load of `old`
    assert dg.materialize(list(defs.assets), selection=[dg.AssetKey(["raw", "aws_cur"])], resources=defs.resources,
                          partition_key="2026-10").success
    capsys.readouterr()  # the setup's own Dagster output
    cfg = _config(tmp_path, "start_date: 2026-10-01\nsources:\n  - {name: old, type: aws_cur, uri: old}\n"
                            "  - {name: new, type: aws_cur, uri: new}\n"
                            "  - {name: payer, type: aws_cur, uri: exports}\n")
    # two billing periods: a range load is recorded per partition, its counts are reported once
    rc, out, err = _run_cli(["run", "--config", str(cfg), "--home", str(home), "--end", "2026-11-02"], capsys)
    assert rc == 0, err
    (log,) = (home / "logs").glob("run-*.log")
    assert re.fullmatch(
        r"  billing ingest 2026-10\.\.2026-11: ok in \d+\.\ds\n"
        r"  daily ingest 2026-10-01\.\.2026-11-02 \+ dbt build \+ publish: ok in \d+\.\ds\n"
        r"  loaded this run, per source:\n"
        r"    old +aws_cur +0 rows   0 partitions written, 1 unchanged, 1 without a complete export\n"
        r"    new +aws_cur +3 rows   1 partition written, 0 unchanged, 1 without a complete export\n"
        r"    payer +aws_cur +0 rows   0 partitions written, 0 unchanged, 2 without a complete export\n"
        rf"  log: {re.escape(str(log))}\n", out), out
    assert err == ("WARNING: source 'old' (aws_cur): no new rows: 1 partition unchanged since the last load "
                   "(previous data kept)\n"
                   f"WARNING: source 'payer' (aws_cur): no rows found for 2026-10..2026-11 under {tmp_path}/exports; "
                   "check its uri and start_date\n")
    con = duckdb.connect(str(home / "warehouse" / "aispend.duckdb"), read_only=True)
    try:
        assert con.execute("select x_source, sum(BilledCost) from focus_costs group by 1").fetchall() == [
            ("aws_cur", 16)]
    finally:
        con.close()
