"""`aispend` command line: demo, run, alert, whatif, focus-check, collect-gpu, dev. Thin: everything runs through the
Dagster graph."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pipelines import homelock
from pipelines.config import (
    WHATIF_KEEP,
    ConfigError,
    default_home,
    home_mode_from_env,
    load_config,
    preflight,
    secure_home,
)


def _instance(home: Path):
    import dagster as dg

    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home / "dagster")
    dagster_home.mkdir(parents=True, exist_ok=True)
    conf = dagster_home / "dagster.yaml"
    text = conf.read_text() if conf.exists() else "telemetry:\n  enabled: false\n"
    if "concurrency:" not in text:  # an instance written before the pool limit (or without one) gets it
        conf.write_text(text.rstrip("\n") + "\n" + INSTANCE_CONCURRENCY)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    quick_instance_commits(dagster_home)
    return dg.DagsterInstance.get()


# One op of the `warehouse` pool (dbt build, publish: the `dagster/concurrency_key` op tag) at a time
# across every run of the instance, Dagster-launched ones included; the only pool aispend defines.
INSTANCE_CONCURRENCY = "concurrency:\n  pools:\n    default_limit: 1\n"

_PINNED: dict[str, object] = {}


def quick_instance_commits(dagster_home: Path) -> None:
    """Make the Dagster instance's SQLite commits cheap for this process (run history only).

    Dagster opens a new SQLite connection per event (~4,000 for a run with the dbt build) and
    closes it again; each commit fsyncs the WAL and each close of the last connection checkpoints
    and fsyncs the database: ~20 ms an event on a laptop disk, over a minute a run. Here, on the
    instance's own WAL databases only: `synchronous=NORMAL` (SQLite's recommended setting for WAL:
    never corrupts, may lose the last commits on power loss — run history, not data: the raw
    zone's load log is the ingest state) and one idle connection kept open per database, so a
    closing connection is never the last one and does not checkpoint. Then an event costs ~0.5 ms.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    root = os.path.realpath(dagster_home) + os.sep
    if root in _PINNED:
        return
    _PINNED[root] = None

    def on_connect(dbapi_conn, _record) -> None:
        if not isinstance(dbapi_conn, sqlite3.Connection):
            return
        row = dbapi_conn.execute("pragma database_list").fetchone()
        path = row[2] if row else ""
        if not path or not os.path.realpath(path).startswith(root):
            return
        if str(dbapi_conn.execute("pragma journal_mode").fetchone()[0]).lower() != "wal":
            return  # a shard before Dagster switches it to WAL: left as Dagster made it
        dbapi_conn.execute("pragma synchronous=NORMAL")
        if path not in _PINNED:
            pin = sqlite3.connect(path, check_same_thread=False)
            pin.execute("pragma schema_version").fetchone()  # opens the file and maps the WAL index
            _PINNED[path] = pin

    event.listen(Engine, "connect", on_connect)


PID_TAG = "aispend/pid"  # the `aispend run` process that executes a Dagster run (in-process)
_UNFINISHED = ("NOT_STARTED", "STARTING", "STARTED", "CANCELING")


def clean_leftovers(home: Path, instance) -> list[str]:
    """Remove what runs killed earlier left behind; one phrase per kind of leftover (none: []).

    Only called holding the home exclusively: every writer of the lake and warehouse holds the home
    lock, so any scratch folder or temp file still there belongs to a process that died (kill -9,
    power loss), and so does any run `aispend run` executed that is not finished yet: it is marked
    failed (else it shows STARTED in Dagster for ever) and its `warehouse` pool slot is freed.
    """
    from dagster import DagsterRunStatus, RunsFilter

    from connectors import rawzone
    from pipelines import warehouse

    done = []
    swapped, lost = rawzone.recover_commits(home)  # before the scratch goes: it holds the staged folders
    if swapped:
        done.append(f"finished an interrupted commit: swapped in {swapped} staged "
                    f"partition{'' if swapped == 1 else 's'}")
    if lost:
        done.append(f"could not finish an interrupted commit (staged folders gone) for {', '.join(lost)}: "
                    "rerun `aispend run` over those days to rewrite them")
    scratch = rawzone.remove_scratch(home)
    if scratch:
        done.append(f"removed {len(scratch)} scratch {'entry' if len(scratch) == 1 else 'entries'} "
                    f"under {rawzone.scratch_root(home)}")
    temps = warehouse.remove_temp_files(home)
    if temps:
        done.append(f"removed {', '.join(str(t) for t in temps)}")
    statuses = [DagsterRunStatus(s) for s in _UNFINISHED]
    dead = [r for r in instance.get_runs(filters=RunsFilter(statuses=statuses)) if PID_TAG in r.tags]
    for run in dead:
        instance.report_run_failed(run, message=f"aispend run (PID {run.tags[PID_TAG]}) stopped without finishing "
                                                "(killed); marked failed by the next run on this home")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    if dead:
        done.append("marked failed: Dagster " + ", ".join(
            f"run {r.run_id[:8]} ({r.job_name}, PID {r.tags[PID_TAG]})" for r in dead))
    return done


def range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags that make one run cover a whole partition range (single-run backfill)."""
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def partition_ranges(start_date: str, end_day: date) -> tuple[tuple[str, str], tuple[str, str]]:
    """(first, last) monthly keys and (first, last) daily keys from the config start to `end_day`."""
    first = date.fromisoformat(start_date)
    return (first.strftime("%Y-%m"), end_day.strftime("%Y-%m")), (first.isoformat(), end_day.isoformat())


def last_complete_day(now: datetime) -> date:
    """The newest daily partition that has ended at `now` (daily partitions are whole UTC days)."""
    return now.astimezone(timezone.utc).date() - timedelta(days=1)


def no_complete_day(start_date: str, last_day: date) -> str:
    """Why a start date past `last_day` has nothing to ingest yet, naming when its first day completes."""
    first = date.fromisoformat(start_date)
    today = last_day + timedelta(days=1)
    when = "today (UTC)" if first == today else f"in the future (today is {today} UTC)"
    return (f"{start_date} is {when}: there is no complete daily partition yet; the first, {start_date}, "
            f"is complete at {first + timedelta(days=1)} 00:00 UTC")


def billing_source_types() -> tuple[str, ...]:
    """Source types ingested by billing_ingest_job: those feeding a monthly raw table."""
    from pipelines.ingest import ALL_SPECS

    return tuple(t for s in ALL_SPECS if s.cadence == "monthly" for t in s.source_types)


class UsageError(ValueError):
    """A bad command-line value; the message names the flag (one line, exit 2)."""


class Interrupted(Exception):
    """Ctrl-C (SIGINT) or SIGTERM stopped a command; the message is the one line to print (exit 130)."""


def _report_failure(result, what: str, log: Path | None) -> None:
    print(f"\n{what} failed; nothing was published and the previous warehouse is unchanged.", file=sys.stderr)
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.event_specific_data.error
            while err is not None and err.cause is not None and "DagsterExecutionStepExecutionError" in err.cls_name:
                err = err.cause  # show the connector's / check's own error, not Dagster's wrapper
            msg = (err.message if err else "failed").strip().splitlines()
            if err is not None and err.cls_name == "Failure" and msg:  # our own message: no class name before it
                msg[0] = msg[0].split(": ", 1)[-1]
            print(f"  step {ev.step_key}: {msg[0] if msg else 'failed'}", file=sys.stderr)
            for line in msg[1:4]:
                print(f"    {line}", file=sys.stderr)
    if log:
        print(f"  full log: {log}", file=sys.stderr)


# Dagster's console logger writes to the log file (stderr, captured) at INFO: the run's warnings and
# errors with their tracebacks, and each asset's own messages; --verbose streams everything instead.
FILE_LOG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


class RunLog:
    """One log file per `aispend run` invocation (UTC time to the microsecond + pid: never shared),
    receiving everything the steps print: Python's sys.stdout / sys.stderr, logging handlers that
    write to them (Dagster's console logger, dbt's), and subprocesses writing to fds 1 and 2."""

    def __init__(self, home: Path, verbose: bool):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        self.path = None if verbose else home / "logs" / f"run-{stamp}-{os.getpid()}.log"

    @contextlib.contextmanager
    def capture(self):
        if self.path is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            if stream is not None:
                stream.flush()
        saved = os.dup(1), os.dup(2)
        with open(self.path, "a", buffering=1) as fh:
            try:
                os.dup2(fh.fileno(), 1)
                os.dup2(fh.fileno(), 2)
                with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
                    yield
            finally:
                for stream in (sys.__stdout__, sys.__stderr__):
                    if stream is not None:
                        stream.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])


@contextlib.contextmanager
def _interrupt_watch():
    """Yields a function telling whether SIGINT / SIGTERM arrived since entry.

    Dagster installs its own SIGINT handler while a job runs; when its interrupt surfaces inside a
    garbage-collector callback Python only prints "Exception ignored" and the run goes on (and
    publishes). The wakeup fd records every signal at C level whatever handler runs, and the
    unraisable hook re-delivers a swallowed interrupt where it can stop the step.
    """
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    seen = {"signal": False}
    previous_hook = sys.unraisablehook

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) or \
                type(unraisable.exc_value).__name__ == "DagsterExecutionInterruptedError":
            seen["signal"] = True
            signal.raise_signal(signal.SIGINT)  # raised again at the next safe point, not inside the callback
            return
        previous_hook(unraisable)

    def received() -> bool:
        try:
            data = os.read(r, 512)
        except BlockingIOError:
            data = b""
        seen["signal"] = seen["signal"] or bool({signal.SIGINT, signal.SIGTERM} & set(data))
        return seen["signal"]

    old_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    sys.unraisablehook = hook
    try:
        yield received
    finally:
        sys.unraisablehook = previous_hook
        signal.set_wakeup_fd(old_fd)
        os.close(r)
        os.close(w)


def _source_metadata(result) -> list[dict]:
    """The `sources` metadata ({source: counts}) of every load the run made.

    A load covering a partition range is recorded once per partition with the same metadata:
    each (asset, load_id) counts once.
    """
    loads = {}
    for ev in result.get_asset_materialization_events():
        mat = ev.event_specific_data.materialization
        value, load_id = mat.metadata.get("sources"), mat.metadata.get("load_id")
        if value is not None:
            loads[(mat.asset_key, load_id.value if load_id is not None else ev.partition)] = value.data
    return list(loads.values())


def _warehouse_stamp(home: Path) -> tuple[int, int] | None:
    from pipelines.warehouse import published_path

    try:
        st = published_path(home).stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def run_pipeline(config_path: str, home: Path | None = None, *, end_day: date | None = None,
                 months: tuple[str, str] | None = None, daily: bool = True, verbose: bool = False,
                 wait: bool = False) -> bool:
    """Ingest every partition from the config's start date to `end_day`, build, publish.

    With `daily=False` only billing is re-ingested before the rebuild (e.g. after a restatement).
    Checked before anything is written: the config, the date range, local paths and env vars.
    Ends with rows loaded per configured source and a WARNING for each that produced none.
    Raises Interrupted on Ctrl-C (one line to print: what stopped, whether anything was published),
    HomeBusy when another run holds the home (unless `wait`: then it waits for it). Under the home
    lock, first cleans what runs killed earlier left behind (clean_leftovers).
    """
    cfg = load_config(config_path)
    preflight(cfg)
    home = home or cfg.home
    last_day = last_complete_day(datetime.now(timezone.utc))
    if end_day is None and (end_day := last_day).isoformat() < cfg.start_date:
        raise ConfigError(f"{cfg.path}: start_date: {no_complete_day(cfg.start_date, last_day)}; nothing to ingest")
    if end_day > last_day:
        raise UsageError(f"--end: {end_day} is not a complete UTC day yet (the last complete day is {last_day}; "
                         "a day is ingested once it has ended)")
    if end_day.isoformat() < cfg.start_date:
        raise UsageError(f"--end: {end_day} is before start_date {cfg.start_date} (in {cfg.path}); "
                         "nothing to ingest")
    month_range, day_range = partition_ranges(cfg.start_date, end_day)
    month_range = months or month_range
    windows = {"monthly": f"{month_range[0]}..{month_range[1]}", "daily": f"{day_range[0]}..{day_range[1]}"}

    secure_home(home, cfg.home_mode)  # before the first file: the run log, Dagster storage, the lake

    def busy_note(holder: str) -> None:
        print(f"waiting for {holder} to finish on {home} ...", file=sys.stderr, flush=True)

    from connectors import rawzone

    with homelock.home_lock(home, "aispend run", wait=wait, on_wait=busy_note):
        try:
            return _run_locked(cfg, config_path, home, windows, month_range, day_range, daily, verbose)
        finally:  # the run's loads (one log file per partition) folded into one file per raw table
            rawzone.compact_load_log(home)


def _run_locked(cfg, config_path: str, home: Path, windows: dict[str, str], month_range: tuple[str, str],
                day_range: tuple[str, str], daily: bool, verbose: bool) -> bool:
    log = RunLog(home, verbose)
    published_before = _warehouse_stamp(home)
    what = "loading the pipeline definitions"
    counts: list[dict] = []
    try:
        with _interrupt_watch() as interrupted:
            with log.capture():
                from pipelines.definitions import build_definitions

                defs = build_definitions(config_path, str(home))
                instance = _instance(home)
                cleaned = clean_leftovers(home, instance)
            if cleaned:
                print(f"  cleaned up after an earlier run that did not finish: {'; '.join(cleaned)}", flush=True)
            run_config = None if verbose else FILE_LOG
            own = {PID_TAG: str(os.getpid())}
            steps = []
            if cfg.sources_of_type(*billing_source_types()):
                steps.append(("billing_ingest_job", range_tags(*month_range), f"billing ingest {windows['monthly']}"))
            if daily:
                steps.append(("daily_job", range_tags(*day_range),
                              f"daily ingest {windows['daily']} + dbt build + publish"))
            else:
                steps.append(("build_job", {}, "dbt build + publish"))
            for job, tags, what in steps:
                t = time.monotonic()
                with log.capture():
                    res = defs.resolve_job_def(job).execute_in_process(instance=instance, tags={**tags, **own},
                                                                       run_config=run_config, raise_on_error=False)
                if interrupted():
                    raise KeyboardInterrupt
                counts += _source_metadata(res)
                if not res.success:
                    _print_counts(cfg, counts, windows)
                    _report_failure(res, what, log.path)
                    return False
                print(f"  {what}: ok in {time.monotonic() - t:.1f}s")
    except KeyboardInterrupt:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut the message short
        published = ("nothing from it was published" if _warehouse_stamp(home) == published_before
                     else "the warehouse had been published before the interrupt")
        raise Interrupted(f"interrupted: aispend run during {what}; {published}"
                          + (f"; log: {log.path}" if log.path else "")) from None
    _print_counts(cfg, counts, windows)
    if log.path:
        print(f"  log: {log.path}")
    return True


def _print_counts(cfg, counts: list[dict], windows: dict[str, str]) -> None:
    from pipelines.run_report import report, sum_counts

    table, warnings = report(cfg, sum_counts(counts), windows)
    if table:
        print("  loaded this run, per source:")
        print("\n".join(table))
    for w in warnings:
        print(w, file=sys.stderr)


def parse_day(value: str, flag: str) -> date:
    """A --flag's YYYY-MM-DD value; UsageError naming the flag otherwise."""
    from pipelines.options import OptionError, parse_date

    try:
        return date.fromisoformat(parse_date(value))
    except OptionError as e:
        raise UsageError(f"{flag}: {e}") from None


def cmd_run(args) -> int:
    end = parse_day(args.end, "--end") if args.end else None
    return 0 if run_pipeline(args.config, Path(args.home).resolve() if args.home else None, end_day=end,
                             verbose=args.verbose, wait=args.wait) else 1


def cmd_demo(args) -> int:
    home = Path(args.home).resolve() if args.home else default_home()
    secure_home(home, home_mode_from_env())  # before the lock file, the first file in a new home
    with homelock.home_lock(home, "aispend demo"):  # it regenerates demo-org/ too: held from the start
        return _demo(args, home)


def _demo(args, home: Path) -> int:
    from demo import DEFAULT_END, apply_restatement, generate
    from demo.emulator import ApiEmulator
    from pipelines import report

    os.environ["AISPEND_HOME"] = str(home)
    org = home / "demo-org"
    t0 = time.monotonic()
    print(f"generating the synthetic organisation into {org} ...")
    manifest = generate(org, seed=args.seed)
    print(f"  generated in {time.monotonic() - t0:.1f}s")
    with ApiEmulator(org / "api") as emu:
        os.environ["AISPEND_EMULATOR_URL"] = emu.base_url
        os.environ["OPENAI_ADMIN_KEY"] = emu.openai_admin_key
        os.environ["ANTHROPIC_ADMIN_KEY"] = emu.anthropic_admin_key
        config = str(org / "aispend.yaml")
        if not run_pipeline(config, home, end_day=DEFAULT_END, verbose=args.verbose):
            return 1
        period = manifest.events["restatement"]["billing_period"]
        before = report.month_total(home, "aws_cur", period)
        print(f"\nAWS restates {period}: re-exporting that period with a new manifest ...")
        apply_restatement(org)
        if not run_pipeline(config, home, end_day=DEFAULT_END, daily=False, verbose=args.verbose):
            return 1
        after = report.month_total(home, "aws_cur", period)
        print(f"  AWS {period} billed cost: {before:,.2f} -> {after:,.2f} USD "
              f"(replaced, not duplicated)")
    print(report.headlines(home))
    print(f"\ndemo finished in {time.monotonic() - t0:.0f}s. Query the warehouse read-only:\n"
          f"  .venv/bin/aispend sql --home {home} \"select * from fct_daily_spend limit 5\"\n"
          f"  .venv/bin/aispend describe --home {home} focus_costs   (what each column means)\n"
          f"  or any DuckDB client on {home / 'warehouse' / 'aispend.duckdb'} (read-only)\n"
          f"Dagster UI on the same definitions and runs: make dev   (http://127.0.0.1:3000)")
    return 0


def config_and_home(args):
    """The config (`--config`, or None) and the home a command works on: `--home`, else the
    config's home, else AISPEND_HOME / ./data."""
    cfg = load_config(args.config) if args.config else None
    home = Path(args.home).resolve() if args.home else (cfg.home if cfg else default_home())
    return cfg, home


def cmd_alert(args) -> int:
    from pipelines.alerts import write_digest

    cfg, home = config_and_home(args)
    secure_home(home, cfg.home_mode if cfg else home_mode_from_env(), create=False)
    week_ending = parse_day(args.week_ending, "--week-ending") if args.week_ending else None
    path, text = write_digest(home, week_ending=week_ending)
    print(text)
    print(f"(written to {path})")
    return 0


def _published(args) -> Path | None:
    from pipelines import warehouse

    _, home = config_and_home(args)
    path = warehouse.published_path(home)
    if not path.exists():
        print(f"{args.cmd}: no published warehouse at {path}; run `aispend run` (or `aispend demo`) first",
              file=sys.stderr)
        return None
    return path


def _print_query(path: Path, query: str, params: list, args) -> int:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        cur = con.execute(query, params)
        if cur.description is None:  # a statement without a result (e.g. SET)
            return 0
        cols, rows = [d[0] for d in cur.description], cur.fetchall()
    except duckdb.Error as e:
        print(f"{args.cmd}: {e}", file=sys.stderr)
        return 1
    finally:
        con.close()
    if getattr(args, "csv", False):
        import csv

        w = csv.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
    else:
        from pipelines.report import text_table

        print(text_table(cols, rows[:args.max_rows], max_width=args.max_width))
        if len(rows) > args.max_rows:
            print(f"({len(rows)} rows, {args.max_rows} shown; --max-rows N or --csv for all)")
    return 0


def cmd_sql(args) -> int:
    """Run SQL on the published warehouse, read-only (no duckdb CLI needed): a table, or CSV."""
    path = _published(args)
    if path is None:
        return 2
    return _print_query(path, args.query if args.query not in (None, "-") else sys.stdin.read(), [], args)


DESCRIBE_SQL = {
    # every table with its comment (the mart's description from its yml), marts first
    "tables": "select table_name, estimated_size as rows, comment from duckdb_tables() "
              "where schema_name = 'main' order by comment is null, table_name",
    "columns": "select column_name, data_type, comment from duckdb_columns() "
               "where schema_name = 'main' and table_name = ? order by column_index",
}


def cmd_describe(args) -> int:
    """What a mart and each of its columns mean: the yml descriptions published as comments."""
    path = _published(args)
    if path is None:
        return 2
    if not args.table:
        return _print_query(path, DESCRIBE_SQL["tables"], [], args)
    return _print_query(path, DESCRIBE_SQL["columns"], [args.table], args)


def cmd_whatif(args) -> int:
    from pipelines.whatif import WhatIfError, compare, prune_copies, run_whatif, whatif_dir

    cfg, home = config_and_home(args)
    secure_home(home, cfg.home_mode if cfg else home_mode_from_env(), create=False)
    keep = cfg.whatif_keep if cfg else WHATIF_KEEP
    if args.keep is not None:
        if not args.keep.strip().isdigit() or int(args.keep) < 1:
            raise UsageError(f"--keep: {args.keep!r} must be a whole number ≥ 1 (what-if copies kept)")
        keep = int(args.keep)
    try:
        path = run_whatif(home, args.set)
    except WhatIfError as e:
        print(str(e), file=sys.stderr)
        return 2
    kept, deleted = prune_copies(home, keep)
    size = sum(p.stat().st_size for p in kept)
    print(f"what-if warehouse: {path}  (published warehouse unchanged)")
    print(f"what-if copies in {whatif_dir(home)}: the last {keep} kept (now {len(kept)}, {size / 2**20:,.0f} MiB)"
          + (f"; deleted {len(deleted)} older: {', '.join(p.name for p in deleted)}" if deleted else "")
          + " (keep more or fewer: --keep N or whatif_keep in aispend.yaml)")
    print(f"{'workload':<60} {'verdict':>25} {'payback months':>18} {'on-prem $/month':>26}")
    for wid, v0, v1, p0, p1, c0, c1 in compare(home, path):
        print(f"{wid[:60]:<60} {f'{v0} -> {v1}':>25} {f'{p0} -> {p1}':>18} {f'{c0} -> {c1}':>26}")
    return 0


def main(argv: list[str] | None = None) -> int:
    # single-run backfills are a beta Dagster parameter; the warning is noise for CLI users
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    p = argparse.ArgumentParser(prog="aispend", description="FinOps pipeline for AI spend")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="generate the synthetic organisation, run everything, print the answers")
    d.add_argument("--home", help="AISPEND_HOME (default ./data)")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--verbose", action="store_true",
                   help="stream Dagster and dbt logs instead of writing them to a file")
    d.set_defaults(fn=cmd_demo)
    r = sub.add_parser("run", help="ingest every partition of the configured sources, build, publish")
    r.add_argument("--config", required=True)
    r.add_argument("--home")
    r.add_argument("--end", help="last day to ingest (YYYY-MM-DD, default yesterday)")
    r.add_argument("--verbose", action="store_true")
    r.add_argument("--wait", action="store_true",
                   help="if another run holds this home, wait for it to finish (default: exit at once, status 75)")
    r.set_defaults(fn=cmd_run)
    a = sub.add_parser("alert", help="write the weekly anomaly digest (file + stdout)")
    a.add_argument("--config")
    a.add_argument("--home")
    a.add_argument("--week-ending", help="last day of the week to report (YYYY-MM-DD; default: the newest day of "
                                         "cost data)")
    a.set_defaults(fn=cmd_alert)
    q = sub.add_parser("sql", help="run SQL on the published warehouse, read-only")
    q.add_argument("query", nargs="?", help="the SQL; '-' or none reads it from stdin")
    q.add_argument("--config")
    q.add_argument("--home")
    q.add_argument("--csv", action="store_true", help="print CSV (header + rows) instead of a table")
    q.set_defaults(fn=cmd_sql)
    ds = sub.add_parser("describe", help="the marts, or one mart's columns, with what each means")
    ds.add_argument("table", nargs="?", help="a mart (e.g. focus_costs); none lists every table")
    ds.add_argument("--config")
    ds.add_argument("--home")
    ds.set_defaults(fn=cmd_describe)
    for sp in (q, ds):
        sp.add_argument("--max-rows", type=int, default=100, help="rows shown (default 100)")
        sp.add_argument("--max-width", type=int, default=100, help="widest cell shown, in characters (default 100)")
    w = sub.add_parser("whatif",
                       help="re-run GPU cost and repatriation with changed assumptions into $AISPEND_HOME/whatif/")
    w.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", required=True,
                   help="e.g. electricity_usd_per_kwh=0.12, gpu_price_usd.H100=28000, target_utilisation=0.7 "
                        "(repeatable)")
    w.add_argument("--config")
    w.add_argument("--home")
    w.add_argument("--keep", metavar="N",
                   help=f"what-if copies kept in $AISPEND_HOME/whatif/, newest first; older ones are deleted "
                        f"(default: whatif_keep in the config, else {WHATIF_KEEP})")
    w.set_defaults(fn=cmd_whatif)
    from pipelines.focus_check import add_parser as add_focus_check
    add_focus_check(sub)
    g = sub.add_parser("collect-gpu", add_help=False,
                       help="run the GPU-host collector (same options as aispend-gpu-collector)")
    g.set_defaults(fn=None)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["collect-gpu"]:  # delegate untouched: the collector owns its options
        from collectors.gpu_collector import main as collect_gpu

        return collect_gpu(argv[1:])
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    except UsageError as e:
        print(f"aispend {args.cmd}: error: {e}", file=sys.stderr)
        return 2
    except homelock.HomeBusy as e:
        print(f"aispend {args.cmd}: {e}", file=sys.stderr)
        return homelock.EXIT_BUSY
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"interrupted: aispend {args.cmd}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
