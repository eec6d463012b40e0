"""GPU telemetry sources: collector files on S3 (moto server), DCGM-exporter text, bad input."""
from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone

import pyarrow.compute as pc
import pytest

from connectors import dcgm, gpu_telemetry
from connectors.errors import SourceError

UTC = timezone.utc
DAY = (datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
INT64_NOT_SUPPORTED = 9223372036854775794


def _collector_file(host: str, hour: int, uuids: list[str], energy0: int = 1000) -> bytes:
    lines = [{"record": "meta", "format_version": 1, "host": host}]
    for s in range(3):
        for i, u in enumerate(uuids):
            lines.append({"record": "gpu", "ts": f"2026-11-10T{hour:02d}:00:{10 * (s + 1):02d}Z", "host": host,
                          "gpu_uuid": u, "gpu_index": i, "util_gpu_pct": 40.0, "power_w": 200.0,
                          "energy_mj": energy0 + 2000 * s, "sm_active": 25.0, "mig_instances": [{"id": 1}]})
    return gzip.compress(("\n".join(json.dumps(x) for x in lines) + "\n").encode())


def test_collector_files_from_an_s3_prefix_of_many_hosts(moto_s3):
    moto_s3.create_bucket(Bucket="gpu-telemetry")
    for host, uuids in (("node-a", ["GPU-a0", "GPU-a1"]), ("node-b", ["GPU-b0"])):
        for hour in (4, 9):
            moto_s3.put_object(Bucket="gpu-telemetry",
                               Key=f"fleet/{host}/2026-11-10/{host}-20261110T{hour:02d}.jsonl.gz",
                               Body=_collector_file(host, hour, uuids))
    moto_s3.put_object(Bucket="gpu-telemetry", Key="fleet/README.txt", Body=b"not telemetry")
    t = gpu_telemetry.read_samples("s3://gpu-telemetry/fleet", datetime(2026, 11, 10, 4, tzinfo=UTC),
                                   datetime(2026, 11, 10, 5, tzinfo=UTC), s3_client=moto_s3)
    assert t.num_rows == 9  # 3 samples × 3 GPUs, hour 9 files not opened
    assert sorted(set(t["host"].to_pylist())) == ["node-a", "node-b"]
    assert set(t["_source_uri"].to_pylist()) == {
        "s3://gpu-telemetry/fleet/node-a/2026-11-10/node-a-20261110T04.jsonl.gz",
        "s3://gpu-telemetry/fleet/node-b/2026-11-10/node-b-20261110T04.jsonl.gz"}
    # a newer collector's `sm_active` is read as GPM SM activity; unknown fields (mig_instances) ignored
    assert pc.sum(t["gpm_sm_activity_pct"]).as_py() == 9 * 25.0
    assert t["gpm_tensor_activity_pct"].null_count == 9 and t["temp_c"].null_count == 9
    assert pc.sum(t["energy_mj"]).as_py() == 3 * (1000 + 3000 + 5000)


def test_s3_prefix_with_no_files_is_an_error(moto_s3):
    moto_s3.create_bucket(Bucket="empty-telemetry")
    with pytest.raises(SourceError,
                       match=r"^gpu_telemetry: s3://empty-telemetry/fleet: no files .* under this S3 prefix"):
        gpu_telemetry.read_samples("s3://empty-telemetry/fleet", *DAY, s3_client=moto_s3)
    with pytest.raises(SourceError, match=r"^dcgm_metrics: s3://empty-telemetry/dcgm: no files"):
        dcgm.read_metrics("s3://empty-telemetry/dcgm", *DAY, s3_client=moto_s3)


def test_truncated_collector_file_is_named(tmp_path):
    d = tmp_path / "h" / "2026-11-10"
    d.mkdir(parents=True)
    (d / "h-20261110T03.jsonl.gz").write_bytes(_collector_file("h", 3, ["GPU-a"]))
    good = _collector_file("h", 4, ["GPU-a"]) * 1
    bad = d / "h-20261110T04.jsonl.gz"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(SourceError, match=rf"^gpu_telemetry: {bad}: cannot read collector file"):
        gpu_telemetry.read_samples(str(tmp_path), *DAY)


SCRAPE = f"""# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="dgx-01",DCGM_FI_DRIVER_VERSION="550.90.07"}} 37
DCGM_FI_DEV_GPU_UTIL{{gpu="1",UUID="GPU-1",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",hostname="dgx-01"}} {INT64_NOT_SUPPORTED}
DCGM_FI_DEV_POWER_USAGE{{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="dgx-01"}} 312.5
DCGM_FI_DEV_POWER_USAGE{{gpu="1",UUID="GPU-1",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",hostname="dgx-01"}} 140737488355330
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="dgx-01"}} 2147483633
DCGM_FI_DEV_FB_USED{{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="dgx-01"}} 1024
DCGM_FI_DEV_FB_FREE{{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="dgx-01"}} 80000
DCGM_FI_DEV_GPU_TEMP{{gpu="1",UUID="GPU-1",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",hostname="dgx-01"}} 2147483634
DCGM_FI_PROF_SM_ACTIVE{{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="dgx-01"}} 0.25
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{{gpu="0",UUID="GPU-0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="dgx-01"}} 0.125
promhttp_metric_handler_requests_total{{code="200"}} 5
"""  # noqa: E501 (DCGM-exporter lines as scraped)


def test_dcgm_exporter_scrape_one_per_file(tmp_path):
    d = tmp_path / "dgx-01"
    d.mkdir()
    (d / "dcgm-20261110T120000Z.prom").write_text(SCRAPE)
    (d / "dcgm-20261110T120010Z.prom.gz").write_bytes(gzip.compress(SCRAPE.replace(" 37\n", " 39\n").encode()))
    (d / "dcgm-20261111T000000Z.prom").write_text("garbage that is never opened {")  # outside the window
    t = dcgm.read_metrics(str(tmp_path), *DAY)
    assert t.schema == gpu_telemetry.SCHEMAS["gpu_samples"]
    rows = t.to_pylist()
    assert [(r["ts"].isoformat(), r["gpu_uuid"]) for r in rows] == [
        ("2026-11-10T12:00:00+00:00", "GPU-0"), ("2026-11-10T12:00:00+00:00", "GPU-1"),
        ("2026-11-10T12:00:10+00:00", "GPU-0"), ("2026-11-10T12:00:10+00:00", "GPU-1")]
    g0, g1 = rows[0], rows[1]
    assert (g0["host"], g1["host"]) == ("dgx-01", "dgx-01")  # Hostname and hostname labels
    assert (g0["util_gpu_pct"], g0["power_w"], g0["energy_mj"]) == (37.0, 312.5, 2147483633)  # int64 counter kept
    assert (g0["gpm_sm_activity_pct"], g0["gpm_tensor_activity_pct"]) == (25.0, 12.5)
    assert (g0["mem_used_bytes"], g0["mem_total_bytes"]) == (1024 * 2**20, 81024 * 2**20)
    assert ((g0["name"], g0["gpu_index"], g0["driver_version"], g0["mig_mode"])
            == ("NVIDIA H100 80GB HBM3", 0, "550.90.07", False))
    # blank sentinels (int64 NOT_SUPPORTED, fp64 blank+2, int32 blank+2) are nulls, not numbers
    assert (g1["util_gpu_pct"], g1["power_w"], g1["temp_c"]) == (None, None, None)
    assert rows[2]["util_gpu_pct"] == 39.0
    assert set(t["_source_uri"].to_pylist()) == {str(d / "dcgm-20261110T120000Z.prom"),
                                                 str(d / "dcgm-20261110T120010Z.prom.gz")}


def test_dcgm_many_scrapes_per_file_and_mig(tmp_path):
    lab = 'gpu="0",UUID="GPU-m",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB"'
    text = "\n".join([
        "# TS 2026-11-10T08:00:00Z",
        f'DCGM_FI_DEV_POWER_USAGE{{{lab},GPU_I_PROFILE="3g.40gb",GPU_I_ID="1"}} 250',
        f'DCGM_FI_DEV_POWER_USAGE{{{lab},GPU_I_PROFILE="4g.40gb",GPU_I_ID="2"}} 250',
        f'DCGM_FI_PROF_SM_ACTIVE{{{lab},GPU_I_PROFILE="3g.40gb",GPU_I_ID="1"}} 0.7',
        f'DCGM_FI_PROF_SM_ACTIVE{{{lab},GPU_I_PROFILE="4g.40gb",GPU_I_ID="2"}} 0.0',
        f'DCGM_FI_DEV_FB_USED{{{lab},GPU_I_PROFILE="3g.40gb",GPU_I_ID="1"}} 100',
        f'DCGM_FI_DEV_FB_USED{{{lab},GPU_I_PROFILE="4g.40gb",GPU_I_ID="2"}} 50',
        f'DCGM_FI_DEV_FB_FREE{{{lab},GPU_I_PROFILE="3g.40gb",GPU_I_ID="1"}} 40092',
        f'DCGM_FI_DEV_FB_FREE{{{lab},GPU_I_PROFILE="4g.40gb",GPU_I_ID="2"}} 40142',
        f'DCGM_FI_DEV_FB_TOTAL{{{lab},GPU_I_PROFILE="3g.40gb",GPU_I_ID="1"}} 40192',
        f'DCGM_FI_DEV_FB_TOTAL{{{lab},GPU_I_PROFILE="4g.40gb",GPU_I_ID="2"}} 40192',
        f'DCGM_FI_PROF_GR_ENGINE_ACTIVE{{{lab},GPU_I_PROFILE="3g.40gb",GPU_I_ID="1"}} 0.7',
        f'DCGM_FI_PROF_GR_ENGINE_ACTIVE{{{lab},GPU_I_PROFILE="4g.40gb",GPU_I_ID="2"}} 0.35',
        "# TS 1794297610",
        f'DCGM_FI_DEV_GPU_UTIL{{{lab}}} 5',
        f'DCGM_FI_DEV_GPU_UTIL{{{lab}}} 6 1794297620000',
    ]) + "\n"
    (tmp_path / "node-x").mkdir()
    (tmp_path / "node-x" / "scrapes.prom").write_text(text)
    rows = dcgm.read_metrics(str(tmp_path), *DAY).to_pylist()
    assert [(r["ts"].isoformat(), r["host"]) for r in rows] == [
        ("2026-11-10T08:00:00+00:00", "node-x"), ("2026-11-10T08:00:10+00:00", "node-x"),
        ("2026-11-10T08:00:20+00:00", "node-x")]  # host from the folder; per-line ms timestamp wins
    mig = rows[0]
    # power is device-level: once, not 500 W; SM activity = 3/7 × 70 %; FB used, free and total summed
    # over the instances (before: free averaged by slice share, total taken from one instance)
    assert mig["mig_mode"] is True and mig["power_w"] == 250.0 and mig["mem_used_bytes"] == 150 * 2**20
    assert mig["mem_total_bytes"] == 2 * 40192 * 2**20
    assert mig["gpm_sm_activity_pct"] == pytest.approx(30.0)
    assert mig["gr_engine_active_pct"] == pytest.approx((3 * 70 + 4 * 35) / 7)  # 50 %
    assert (rows[1]["util_gpu_pct"], rows[2]["util_gpu_pct"]) == (5.0, 6.0)


def test_dcgm_malformed_line_names_file_and_line(tmp_path):
    (tmp_path / "h").mkdir()
    f = tmp_path / "h" / "dcgm-20261110T120000Z.prom"
    f.write_text(SCRAPE.replace('DCGM_FI_DEV_GPU_TEMP{gpu="1"', 'DCGM_FI_DEV_GPU_TEMP{gpu=1'))
    with pytest.raises(SourceError, match=rf"^dcgm_metrics: {f}:10: bad label set"):
        dcgm.read_metrics(str(tmp_path), *DAY)
    f.write_text("# TS 2026-11-10T08:00:00Z\nDCGM_FI_DEV_GPU_UTIL{UUID=\"G\",Hostname=\"h\"} lots\n")
    with pytest.raises(SourceError, match=rf"^dcgm_metrics: {f}:2: value 'lots' is not a number"):
        dcgm.read_metrics(str(tmp_path), *DAY)
    with pytest.raises(SourceError, match=r"^dcgm_metrics: .*nope: no DCGM scrape files"):
        dcgm.read_metrics(str(tmp_path / "nope"), *DAY)


def test_counters_written_as_floats_and_a_counter_going_backwards_are_read(tmp_path):
    d = tmp_path / "h" / "2026-11-10"
    d.mkdir(parents=True)
    lines = [{"record": "gpu", "ts": "2026-11-10T04:00:10Z", "host": "h", "gpu_uuid": "GPU-a", "energy_mj": 1.5e12,
              "mem_used_bytes": 1024.0},
             {"record": "gpu", "ts": "2026-11-10T04:00:20Z", "host": "h", "gpu_uuid": "GPU-a", "energy_mj": 5000}]
    (d / "h-20261110T04.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n")
    t = gpu_telemetry.read_samples(str(tmp_path), *DAY)
    # the reset (1.5e12 → 5000 mJ) is data for dbt (∫ power dt for that interval), not an error here
    assert t["energy_mj"].to_pylist() == [1_500_000_000_000, 5000] and t["mem_used_bytes"].to_pylist() == [1024, None]


def test_dcgm_unconvertible_values_of_unread_metrics_are_skipped_and_counted(tmp_path):
    lab = 'gpu="{g}",UUID="GPU-{g}",modelName="NVIDIA A800-SXM4-80GB",Hostname="h"'
    text = "\n".join([
        "# TS 2026-11-10T08:00:00Z",
        f'DCGM_FI_DEV_POWER_USAGE{{{lab.format(g=0)}}} 100',
        f'DCGM_FI_DEV_POWER_USAGE{{{lab.format(g=1)}}} 100',
        f'DCGM_FI_DEV_VGPU_PER_PROCESS_UTILIZATION{{{lab.format(g=1)}}} ERROR - FAILED TO CONVERT TO STRING',
        f'DCGM_FI_DEV_COMPUTE_PIDS{{{lab.format(g=1)}}} ERROR - FAILED TO CONVERT TO STRING',
        # no UUID label: counted on the scrape's first GPU
        'DCGM_FI_DEV_VGPU_INSTANCE_IDS{gpu="0"} ERROR - FAILED TO CONVERT TO STRING',
        'DCGM_FI_DEV_CUDA_VISIBLE_DEVICES_STR{gpu="0",UUID="GPU-0",GPU_I_ID="3",'
        'DCGM_FI_DEV_MIG_CI_INFO="ERROR - FAILED TO CONVERT TO STRING"} MIG-GPU-0/3',
        "# TS 2026-11-10T08:00:10Z",
        f'DCGM_FI_DEV_POWER_USAGE{{{lab.format(g=0)}}} 100',
    ]) + "\n"
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "scrapes.prom").write_text(text)
    rows = dcgm.read_metrics(str(tmp_path), *DAY).to_pylist()
    assert [(r["gpu_uuid"], r["unparsed_values"], r["power_w"]) for r in rows] == [
        ("GPU-0", 2, 100.0), ("GPU-1", 2, 100.0), ("GPU-0", 0, 100.0)]
    assert all(r["mig_mode"] is False for r in rows)  # a skipped MIG-labelled sample reads nothing


def test_dcgm_framebuffer_identity_violation_stops_the_load(tmp_path):
    lab = 'gpu="0",UUID="GPU-0",modelName="NVIDIA A800-SXM4-80GB",Hostname="h"'
    (tmp_path / "h").mkdir()
    f = tmp_path / "h" / "dcgm-20261110T080000Z.prom"
    f.write_text(f"DCGM_FI_DEV_FB_USED{{{lab}}} 1000\nDCGM_FI_DEV_FB_FREE{{{lab}}} 80000\n"
                 f"DCGM_FI_DEV_FB_RESERVED{{{lab}}} 920\nDCGM_FI_DEV_FB_TOTAL{{{lab}}} 81920\n")
    assert dcgm.read_metrics(str(tmp_path), *DAY)["mem_total_bytes"].to_pylist() == [81920 * 2**20]
    # a total that no longer matches used + free + reserved (e.g. units or meaning changed)
    f.write_text(f.read_text().replace("} 81920", "} 40960"))
    with pytest.raises(SourceError, match=rf"^dcgm_metrics: {f}: GPU GPU-0 at 2026-11-10T08:00:00\+00:00: "
                                          r"FB_USED \+ FB_FREE \+ FB_RESERVED = 81,920 MiB but FB_TOTAL = 40,960 MiB"):
        dcgm.read_metrics(str(tmp_path), *DAY)
