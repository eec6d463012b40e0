"""`aispend run` operations: one run per home at a time (a second exits at once naming the holder, or
waits with --wait), and what a killed run (kill -9) leaves behind is cleaned by the next run: scratch
folders, the Dagster run it left STARTED, and no dbt build left running on its own."""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.compute as pc
import pytest

from test_cli import REPO, _config, hanging_api  # noqa: F401  (hanging_api is a fixture)
from test_sensors import write_period

AISPEND = str(Path(sys.executable).with_name("aispend"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "DAGSTER_HOME": str(tmp_path / "dagster"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **extra}


def _start(tmp_path: Path, cfg: Path, home: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([AISPEND, "run", "--config", str(cfg), "--home", str(home), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path, **env))


def _until(cond, timeout: float, what: str, step: float = 0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has finished
    except FileNotFoundError:
        return False


def _dbt_child(pid: int) -> int | None:
    """The PID of a `dbt build` started by process `pid`, if one is running."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if ppid == pid and b"build" in cmd and any(b"dbt" in c for c in cmd):
            return int(d.name)
    return None


def _runs(tmp_path: Path) -> dict[str, str]:
    """{run id: status} of the Dagster instance the runs used."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as inst:
        return {r.run_id: r.status.value for r in inst.get_runs()}


# --- one run per home -----------------------------------------------------------------------------
@pytest.mark.faults("survived")
def test_second_run_on_a_busy_home_exits_at_once_or_waits_and_cleans_the_killed_run(tmp_path, hanging_api):  # noqa: F811
    url, connected = hanging_api
    cfg = _config(tmp_path, f"start_date: 2026-10-01\nsources:\n"
                            f"  - {{name: oa, type: openai, uri: '{url}', admin_key_env: AISPEND_TEST_KEY}}\n")
    other = tmp_path / "other.yaml"  # a second run on the same home: fails fast once it runs (no trace files)
    other.write_text("start_date: 2026-10-01\nsources:\n  - {name: traces, type: otel_traces, uri: exports}\n")
    home = tmp_path / "home"
    first = _start(tmp_path, cfg, home, "--end", "2026-10-02", AISPEND_TEST_KEY="sk-admin-test-value")
    waiting = None
    try:
        assert connected.wait(180), "the run never reached the API"
        t0 = time.monotonic()
        busy = subprocess.run([AISPEND, "run", "--config", str(other), "--home", str(home), "--end", "2026-10-02"],
                              capture_output=True, text=True, env=_env(tmp_path), timeout=120)
        assert time.monotonic() - t0 < 30  # at once: no ingest, no dbt
        m = re.fullmatch(rf"aispend run: {re.escape(str(home))} is in use by aispend run \(PID {first.pid}, started "
                         r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\); nothing was done \(wait for it: --wait\)\n",
                         busy.stderr)
        assert (busy.returncode, busy.stdout, bool(m)) == (75, "", True), busy.stderr
        started = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        assert timedelta(0) <= datetime.now(timezone.utc) - started < timedelta(minutes=10)
        assert len(list((home / "logs").glob("run-*.log"))) == 1  # the busy run wrote nothing, not even a log

        waiting = _start(tmp_path, other, home, "--end", "2026-10-02", "--wait")
        time.sleep(5)
        assert waiting.poll() is None  # queued behind the first run
        first.send_signal(signal.SIGKILL)
        assert first.wait(30) == -signal.SIGKILL
        out, err = waiting.communicate(timeout=300)
    finally:
        first.kill()
        if waiting is not None:
            waiting.kill()
    assert err.startswith(f"waiting for aispend run (PID {first.pid}, started {m.group(1)} UTC) to finish on "
                          f"{home} ...\n"), err
    assert "step raw__otel_spans: otel_spans: source 'traces' (otel_traces): nothing written" in err
    # the killed run's Dagster run was left STARTED; the next run marked it failed and said so
    runs = _runs(tmp_path)
    killed = [rid for rid, status in runs.items() if status == "FAILURE" and rid[:8] in out]
    assert len(killed) == 1, (out, runs)
    assert out.splitlines()[0] == (f"  cleaned up after an earlier run that did not finish: marked failed: Dagster run "
                                   f"{killed[0][:8]} (daily_job, PID {first.pid})")
    assert sorted(runs.values()) == ["FAILURE", "FAILURE"]  # nothing left STARTED
    assert (home / ".aispend.lock").read_text() == ""  # released


# --- what kill -9 leaves behind ----------------------------------------------------------------------
@pytest.mark.faults("survived")
def test_kill_9_leaves_scratch_and_started_runs_that_the_next_run_cleans_and_dbt_dies_with_its_run(tmp_path):
    rows = 150_000
    write_period(tmp_path / "exports", "2026-10", [[1.0] * rows, [2.0] * rows])
    cfg = _config(tmp_path, "start_date: 2026-10-01\nsources:\n  - {name: payer, type: aws_cur, uri: exports}\n")
    home = tmp_path / "home"
    staging = home / "lake" / "_scratch" / "staging"

    # 1. killed while a billing period is staged: its scratch folder stays, its run stays STARTED
    run = _start(tmp_path, cfg, home, "--end", "2026-10-02")
    try:
        _until(lambda: any(staging.glob("*/part-*.parquet")), 300, "a staged part file")
        run.send_signal(signal.SIGKILL)
        assert run.wait(30) == -signal.SIGKILL
    finally:
        run.kill()
    first_pid = run.pid
    left = [p for p in staging.iterdir() if p.is_dir()]
    assert len(left) == 1 and list(left[0].glob("part-*.parquet"))
    ((first_run, status),) = _runs(tmp_path).items()
    assert status == "STARTED"
    assert not (home / "lake" / "raw" / "aws_cur" / "source=payer").exists()  # nothing half-loaded

    # 2. the next run removes it (and says so), loads the period, and is killed while dbt builds:
    #    its dbt process ends with it instead of building on, orphaned
    run = _start(tmp_path, cfg, home, "--end", "2026-10-02")
    try:
        dbt = _until(lambda: _dbt_child(run.pid), 600, "dbt build to start", step=0.2)
        run.send_signal(signal.SIGKILL)
        assert run.wait(30) == -signal.SIGKILL
        _until(lambda: not _alive(dbt), 10, f"the orphaned dbt build (PID {dbt}) to end", step=0.1)
    finally:
        run.kill()
    out = run.stdout.read()
    assert out.splitlines()[0] == (
        f"  cleaned up after an earlier run that did not finish: removed 1 scratch entry under "
        f"{home / 'lake' / '_scratch'}; marked failed: Dagster run {first_run[:8]} (billing_ingest_job, PID "
        f"{first_pid})")
    assert not [p for p in staging.iterdir() if p.is_dir()]

    # 3. a third run finishes: the killed run is marked failed, the period is not re-read (unchanged
    #    manifest), and the warehouse holds every row once
    done = subprocess.run([AISPEND, "run", "--config", str(cfg), "--home", str(home), "--end", "2026-10-02"],
                          capture_output=True, text=True, env=_env(tmp_path), timeout=900)
    assert done.returncode == 0, done.stderr
    assert re.match(r"  cleaned up after an earlier run that did not finish: marked failed: Dagster run \w{8} "
                    rf"\(daily_job, PID {run.pid}\)\n", done.stdout), done.stdout
    assert re.search(r"payer +aws_cur +0 rows +0 partitions written, 1 unchanged", done.stdout), done.stdout
    statuses = sorted(_runs(tmp_path).values())
    assert statuses == ["FAILURE", "FAILURE", "SUCCESS", "SUCCESS", "SUCCESS"], statuses
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "aispend.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*), sum(BilledCost) from focus_costs").fetchone() == (2 * rows, 3 * rows)
    finally:
        con.close()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


# --- publish is durable; the load log stays one file per raw table -----------------------------------
@pytest.mark.faults("survived")
def test_publish_copies_under_the_build_lock_and_syncs_file_and_folder_and_the_load_log_is_compacted(
        tmp_path, capsys, monkeypatch):
    """Spies (the real calls still run) record what publish does to the warehouse folder: the copy of
    the build file is made while DuckDB's write lock on it is held (another process cannot open it),
    the copy is fsynced, renamed, and the folder fsynced so the rename survives a power loss."""
    import shutil

    from connectors import rawzone
    from pipelines import warehouse
    from pipelines.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    write_period(tmp_path / "exports", "2026-10", [[1.0, 2.0]])
    write_period(tmp_path / "exports", "2026-11", [[4.0]])
    cfg = _config(tmp_path, "start_date: 2026-10-01\nsources:\n  - {name: payer, type: aws_cur, uri: exports}\n")
    home = tmp_path / "home"
    wh_dir, build = warehouse.published_path(home).parent, warehouse.build_path(home)
    events: list[tuple] = []
    real_copy, real_fsync, real_replace = shutil.copyfile, os.fsync, os.replace

    def copyfile(src, dst, *a, **kw):
        if Path(src) == build:
            probe = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
                                    str(build)], capture_output=True, text=True)
            events.append(("copy", Path(dst).name, "locked" if probe.returncode and "lock" in probe.stderr
                           else "not locked"))
        return real_copy(src, dst, *a, **kw)

    def fsync(fd):
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if path == wh_dir or path.parent == wh_dir:
            events.append(("fsync", path.name))
        return real_fsync(fd)

    def replace(src, dst, *a, **kw):
        if Path(dst).parent == wh_dir:
            events.append(("rename", Path(src).name, Path(dst).name))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(shutil, "copyfile", copyfile)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    argv = ["run", "--config", str(cfg), "--home", str(home), "--end", "2026-11-02"]
    loads = []
    for _ in range(2):
        assert main(argv) == 0, capsys.readouterr().err
        loads.append(rawzone.read_load_log(home))
        # one file per raw table, whatever the number of partitions loaded
        per_table = {d.name: sorted(f.name for f in d.iterdir()) for d in (home / "lake" / "_loads").iterdir()}
        assert per_table and set(map(tuple, per_table.values())) == {("log.parquet",)}, per_table
    out = capsys.readouterr().out
    tmp = f".aispend.duckdb.{os.getpid()}.tmp"
    assert events == 2 * [("copy", tmp, "locked"), ("fsync", tmp), ("rename", tmp, "aispend.duckdb"),
                          ("fsync", "warehouse")], events
    # nothing lost in compaction: the first run's rows are all still there, the CUR periods were not
    # re-read (their fingerprints are found in the compacted log)
    first, second = loads
    rows_of = (lambda t: {tuple(r.values()) for r in t.to_pylist()})  # noqa: E731
    assert first.num_rows > 2 and rows_of(first) < rows_of(second) and second.num_rows == len(rows_of(second))
    cur = second.filter(pc.equal(second.column("raw_table"), "aws_cur")).to_pylist()
    assert sorted((r["partition"], r["rows"]) for r in cur) == [("2026-10", 2), ("2026-11", 1)]
    assert re.search(r"payer +aws_cur +0 rows +0 partitions written, 2 unchanged", out.split("billing ingest")[-1])

