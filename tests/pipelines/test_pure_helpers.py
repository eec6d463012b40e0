"""Small pure functions that shape runs: partition windows, dbt args, range tags."""

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from pipelines.cli import last_complete_day, no_complete_day, partition_ranges, range_tags
from pipelines.dbt_args import dbt_build_args, dbt_env, dbt_target_path, dbt_vars
from pipelines.ingest._factory import day_window
from pipelines.quality.ge import window_bounds

UTC = timezone.utc


def test_window_bounds_day_and_month():
    assert window_bounds("2026-02-28") == (datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert window_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert window_bounds("2026-10") == (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))


def test_day_window_covers_last_day():
    assert day_window(["2026-11-15", "2026-11-13", "2026-11-14"]) == (
        datetime(2026, 11, 13, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC))
    with pytest.raises(ValueError, match="no daily partition in this run"):
        day_window([])


def test_last_complete_day_is_yesterday_in_utc():
    # 23:30 in New York on 6 December is 04:30 UTC on the 7th: the 6th (UTC) has ended
    from zoneinfo import ZoneInfo
    assert last_complete_day(datetime(2026, 12, 6, 23, 30, tzinfo=ZoneInfo("America/New_York"))) == date(2026, 12, 6)
    assert last_complete_day(datetime(2026, 12, 7, 0, 0, tzinfo=UTC)) == date(2026, 12, 6)
    assert no_complete_day("2026-12-07", date(2026, 12, 6)) == (
        "2026-12-07 is today (UTC): there is no complete daily partition yet; the first, 2026-12-07, is complete at "
        "2026-12-08 00:00 UTC")


def test_dbt_vars_and_args():
    v = dbt_vars(window_start="2026-11-01")
    assert v == {"window_start": "2026-11-01"}
    args = dbt_build_args(v)
    assert args[:2] == ["build", "--vars"] and json.loads(args[2]) == v
    assert args[3:] == ["--exclude-resource-type", "unit_test"]
    # a plain run passes no --vars at all, so dbt's partial-parse state survives from run to run
    assert dbt_vars() == {}
    assert dbt_build_args(dbt_vars()) == ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_build_args({}, unit_tests=True) == ["build"]
    env = dbt_env(Path("/h"))
    assert env == {"AISPEND_DBT_DB_PATH": "/h/warehouse/build/aispend.build.duckdb", "AISPEND_RAW_ROOT": "/h/lake/raw",
                   "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}  # nor a .user.yml written into the project folder
    assert dbt_target_path(Path("/h")) == Path("/h/warehouse/build/dbt-target")


def test_partition_ranges_and_tags():
    months, days = partition_ranges("2026-08-18", date(2026, 11, 15))
    assert months == ("2026-08", "2026-11") and days == ("2026-08-18", "2026-11-15")
    assert range_tags(*days) == {"dagster/asset_partition_range_start": "2026-08-18",
                                 "dagster/asset_partition_range_end": "2026-11-15"}


def test_billing_job_runs_for_every_monthly_source_type():
    from pipelines.cli import billing_source_types

    assert set(billing_source_types()) >= {"aws_cur", "gcp_billing", "focus_files", "aws_focus"}
    assert not {"openai", "otel_traces", "gpu_telemetry"} & set(billing_source_types())


def test_daily_fetch_may_stream_batches_split_per_day(tmp_path):
    """A connector returning a stream of tables: pieces per day, empty days still written."""
    from datetime import datetime, timezone

    import pyarrow as pa

    from pipelines.config import AispendConfig, SourceConfig
    from pipelines.ingest._factory import RawSpec, _Skips, _source_pieces

    schema = pa.schema([("ts", pa.timestamp("us", tz="UTC")), ("v", pa.int64())])

    def fetch(src, start, end):
        d = lambda day: datetime(2026, 9, day, 12, tzinfo=timezone.utc)  # noqa: E731
        yield pa.table({"ts": [d(1), d(2)], "v": [1, 2]}, schema=schema)
        yield pa.table({"ts": [d(2)], "v": [3]}, schema=schema)

    spec = RawSpec(raw_table="t", source_type="s", cadence="daily", schema=schema, description="",
                   daily_fetch=fetch, ts_column="ts")
    cfg = AispendConfig(home=tmp_path, sources=(SourceConfig("src", "s", "/x"),), start_date="2026-09-01")
    pieces = list(_source_pieces(spec, cfg, cfg.sources[0], ["2026-09-01", "2026-09-02", "2026-09-03"], _Skips()))
    assert [(p.key, p.table.num_rows) for p in pieces] == [("2026-09-01", 1), ("2026-09-02", 1), ("2026-09-02", 1),
                                                          ("2026-09-03", 0)]
