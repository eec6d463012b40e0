"""The raw-zone writer: layout, lineage, atomic replace, load log, schema file."""

import threading
from datetime import datetime, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import rawzone

UTC = timezone.utc
SCHEMA = pa.schema([("ts", pa.timestamp("us", tz="UTC")), ("v", pa.int64()), ("_source_uri", pa.string())])


def table(n, day=1, v=1):
    return pa.table({"ts": [datetime(2026, 9, day, h % 24, tzinfo=UTC) for h in range(n)], "v": [v] * n,
                     "_source_uri": ["f1"] * n}, schema=SCHEMA)


def test_layout_lineage_and_load_log(tmp_path):
    recs = rawzone.write_partitions(tmp_path, "t", "src", "day", {"2026-09-01": table(3)}, SCHEMA,
                                    "load1", "run1", "fp1")
    f = tmp_path / "lake/raw/t/source=src/day=2026-09-01/part-00000.parquet"
    t = pq.read_table(f)
    assert t.schema.names == ["ts", "v", "_source_uri", "_source_name", "_ingested_at", "_load_id", "_partition"]
    assert t.num_rows == 3
    assert set(t["_source_name"].to_pylist()) == {"src"} and set(t["_load_id"].to_pylist()) == {"load1"}
    assert set(t["_partition"].to_pylist()) == {"2026-09-01"}
    assert recs[0].rows == 3 and recs[0].path == str(f.parent)
    log = rawzone.read_load_log(tmp_path).to_pylist()
    assert [(r["raw_table"], r["source_name"], r["partition"], r["rows"], r["run_id"]) for r in log] == [
        ("t", "src", "2026-09-01", 3, "run1")]
    assert rawzone.last_fingerprint(tmp_path, "t", "src", "2026-09-01") == "fp1"
    assert rawzone.last_fingerprint(tmp_path, "t", "src", "2026-09-02") is None


def test_rerun_replaces_never_duplicates(tmp_path):
    for i in range(3):
        rawzone.write_partitions(tmp_path, "t", "src", "day", {"2026-09-01": table(5, v=i)}, SCHEMA,
                                 f"l{i}", None, f"fp{i}")
    part = tmp_path / "lake/raw/t/source=src/day=2026-09-01"
    assert [p.name for p in part.parent.iterdir()] == ["day=2026-09-01"]  # no temp or aside folders left
    assert [p.name for p in part.iterdir()] == ["part-00000.parquet"]
    t = pq.read_table(part / "part-00000.parquet")
    assert t.num_rows == 5 and set(t["v"].to_pylist()) == {2}
    assert rawzone.last_fingerprint(tmp_path, "t", "src", "2026-09-01") == "fp2"
    assert rawzone.read_load_log(tmp_path).num_rows == 3


def test_schema_file_and_conform(tmp_path):
    p = rawzone.ensure_schema_file(tmp_path, "t", SCHEMA)
    t = pq.read_table(p)
    assert t.num_rows == 0 and t.schema.names[-4:] == ["_source_name", "_ingested_at", "_load_id", "_partition"]
    c = rawzone.conform(pa.table({"v": [1], "extra": ["x"]}), SCHEMA)
    assert c.schema == SCHEMA and c["ts"].to_pylist() == [None]
    # a reader over the whole table resolves even with only the schema file present
    n = duckdb.connect().execute("select count(*) from read_parquet(?, union_by_name=true)",
                       [str(tmp_path / "lake/raw/t/**/*.parquet")]).fetchone()[0]
    assert n == 0


def test_split_by_day_and_month_in_utc():
    t = pa.table({"ts": pa.array([datetime(2026, 9, 30, 23, 59, tzinfo=UTC), datetime(2026, 10, 1, 0, 0, tzinfo=UTC)],
                                 pa.timestamp("us", tz="UTC"))})
    assert {k: v.num_rows for k, v in rawzone.split_by_day(t, "ts").items()} == {"2026-09-30": 1, "2026-10-01": 1}
    assert set(rawzone.split_by_month(t, "ts")) == {"2026-09", "2026-10"}


def test_readers_never_see_a_half_or_double_partition(tmp_path):
    rawzone.write_partitions(tmp_path, "t", "src", "day", {"2026-09-01": table(50)}, SCHEMA, "l0", None)
    glob = str(tmp_path / "lake/raw/t/source=*/*/*.parquet")
    seen, errors, stop = [], [], threading.Event()

    def reader():
        con = duckdb.connect()
        while not stop.is_set() and len(seen) < 2000:
            try:
                seen.append(con.execute("select count(*) from read_parquet(?)", [glob]).fetchone()[0])
            except duckdb.Error as e:
                errors.append(str(e))

    th = threading.Thread(target=reader)
    th.start()
    for i in range(30):
        rawzone.write_partitions(tmp_path, "t", "src", "day", {"2026-09-01": table(50, v=i)}, SCHEMA, f"l{i}", None)
    stop.set()
    th.join(timeout=30)
    assert not errors
    assert len(seen) > 10 and set(seen) == {50}


def test_portable_fallback_swap_replaces_and_cleans_up(tmp_path, monkeypatch):
    """Where renameat2 is unavailable: old folder moved aside, new renamed in, old deleted."""
    monkeypatch.setattr(rawzone, "_exchange", lambda a, b: False)
    for i in range(2):
        rawzone.write_partitions(tmp_path, "t", "src", "day", {"2026-09-01": table(4, v=i)}, SCHEMA, f"l{i}", None)
    t = pq.read_table(tmp_path / "lake/raw/t/source=src/day=2026-09-01/part-00000.parquet")
    assert t.num_rows == 4 and set(t["v"].to_pylist()) == {1}
    assert not any((tmp_path / "lake/_scratch/retired").iterdir())


def test_failed_write_keeps_the_old_partition(tmp_path, monkeypatch):
    rawzone.write_partitions(tmp_path, "t", "src", "day", {"2026-09-01": table(3)}, SCHEMA, "good", None)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(rawzone.pq, "write_table", boom)
    try:
        rawzone.write_partitions(tmp_path, "t", "src", "day", {"2026-09-01": table(9)}, SCHEMA, "bad", None)
    except OSError:
        pass
    monkeypatch.undo()
    t = pq.read_table(tmp_path / "lake/raw/t/source=src/day=2026-09-01/part-00000.parquet")
    assert t.num_rows == 3 and set(t["_load_id"].to_pylist()) == {"good"}
    assert not any((tmp_path / "lake/_scratch/staging").iterdir())
    assert [r["load_id"] for r in rawzone.read_load_log(tmp_path).to_pylist()] == ["good"]


def test_staged_partition_streams_parts_and_swaps_in_only_on_commit(tmp_path):
    from connectors.rawzone import StagedPartition, write_partitions

    schema = pa.schema([("v", pa.int64())])
    write_partitions(tmp_path, "t", "src", "day", {"2026-09-01": pa.table({"v": [1]})}, schema, "old", None)
    final = tmp_path / "lake/raw/t/source=src/day=2026-09-01"
    sp = StagedPartition(tmp_path, "t", "src", "day", "2026-09-01", schema, "new")
    sp.write(pa.table({"v": [2, 3]}))
    sp.write(pa.table({"v": [4]}))
    # readers still see the previous load until commit
    assert pq.read_table(final)["v"].to_pylist() == [1]
    rec = sp.commit("run-1", "fp")
    assert rec.rows == 3 and sorted(p.name for p in final.iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    assert sorted(pq.read_table(final)["v"].to_pylist()) == [2, 3, 4]
    # a discarded load leaves the committed one in place and no scratch behind
    sp2 = StagedPartition(tmp_path, "t", "src", "day", "2026-09-01", schema, "bad")
    sp2.write(pa.table({"v": [99]}))
    sp2.discard()
    assert sorted(pq.read_table(final)["v"].to_pylist()) == [2, 3, 4]
    assert not any((tmp_path / "lake/_scratch/staging").iterdir())


@pytest.mark.faults("rejected")
@pytest.mark.parametrize("source_name, key", [("aws", "../../../../outside"), ("aws", "2026-10/../../x"),
                                              ("../aws", "2026-10"), ("aws", ".."), ("aws", "a\0b")])
def test_partition_parts_from_data_cannot_leave_the_lake(tmp_path, source_name, key):
    with pytest.raises(ValueError, match="is not a single folder name"):
        rawzone.StagedPartition(tmp_path, "aws_cur", source_name, "billing_period", key,
                                pa.schema([("x", pa.int64())]), "load-1")
    assert not (tmp_path / "outside").exists()


@pytest.mark.faults("survived")
def test_load_log_compaction_keeps_every_load_once_and_fingerprints_still_found(tmp_path):
    schema = pa.schema([("x", pa.float64())])
    for i in range(3):
        rawzone.write_partitions(tmp_path, "t", "src", "day", {f"2026-09-0{i + 1}": pa.table({"x": [1.0]})}, schema,
                                 f"load{i}", None, f"fp{i}")
    d = tmp_path / "lake" / "_loads" / "t"
    small = sorted(d.glob("*.parquet"))
    kept = {f.name: f.read_bytes() for f in small}
    before = rawzone.read_load_log(tmp_path).to_pylist()
    assert rawzone.compact_load_log(tmp_path) == (3, 1)
    assert [f.name for f in d.iterdir()] == ["log.parquet"]
    assert rawzone.read_load_log(tmp_path).to_pylist() == before
    assert rawzone.last_fingerprint(tmp_path, "t", "src", "2026-09-02") == "fp1"
    # killed between the compacted file's rename and the deletes: the loads are in both, counted once
    for name, data in kept.items():
        (d / name).write_bytes(data)
    assert rawzone.read_load_log(tmp_path).to_pylist() == before
    rawzone.write_partitions(tmp_path, "t", "src", "day", {"2026-09-02": pa.table({"x": [2.0]})}, schema,
                             "load9", None, "fp9")
    assert rawzone.last_fingerprint(tmp_path, "t", "src", "2026-09-02") == "fp9"
    assert rawzone.compact_load_log(tmp_path) == (5, 1)
    assert [r["load_id"] for r in rawzone.read_load_log(tmp_path).to_pylist()] == ["load0", "load1", "load2", "load9"]
