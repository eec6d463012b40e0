"""raw/gpu_samples through `dg.materialize`: collector files and DCGM scrapes feed the same raw table;
a malformed DCGM line fails the run naming source, file and line, and keeps the previous data."""

import gzip
import json
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from pipelines.definitions import build_definitions

LAB = 'gpu="0",UUID="GPU-d0",modelName="NVIDIA H100 80GB HBM3",Hostname="dgx-01"'


def _setup(tmp_path: Path) -> tuple[dg.Definitions, Path, Path]:
    coll = tmp_path / "collector" / "node-a" / "2026-11-10"
    coll.mkdir(parents=True)
    lines = [{"record": "meta", "format_version": 1}] + [
        {"record": "gpu", "ts": f"2026-11-10T04:00:{10 * s:02d}Z", "host": "node-a", "gpu_uuid": "GPU-a0",
         "gpu_index": 0, "util_gpu_pct": 10.0, "power_w": 100.0, "energy_mj": 1000 * s} for s in range(1, 4)]
    (coll / "node-a-20261110T04.jsonl.gz").write_bytes(gzip.compress("\n".join(map(json.dumps, lines)).encode()))
    dcgm = tmp_path / "dcgm" / "dgx-01"
    dcgm.mkdir(parents=True)
    for sec in (0, 10):
        (dcgm / f"dcgm-20261110T0500{sec:02d}Z.prom").write_text(
            f"DCGM_FI_DEV_GPU_UTIL{{{LAB}}} 50\nDCGM_FI_DEV_POWER_USAGE{{{LAB}}} 9223372036854775794\n")
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"home: {tmp_path / 'home'}\nstart_date: 2026-11-01\nsources:\n"
                   f"  - {{name: nvml, type: gpu_telemetry, uri: {tmp_path / 'collector'}}}\n"
                   f"  - {{name: dcgm, type: dcgm_metrics, uri: {tmp_path / 'dcgm'}}}\n")
    return build_definitions(str(cfg), str(tmp_path / "home")), tmp_path / "home", dcgm


def _run(defs):
    return dg.materialize(list(defs.assets), selection=[dg.AssetKey(["raw", "gpu_samples"])], resources=defs.resources,
                          partition_key="2026-11-10", raise_on_error=False)


def test_collector_and_dcgm_feed_gpu_samples_and_bad_line_keeps_previous(tmp_path):
    defs, home, dcgm = _setup(tmp_path)
    assert _run(defs).success
    raw = home / "lake" / "raw" / "gpu_samples"
    nvml = pq.read_table(next(raw.glob("source=nvml/day=2026-11-10/*.parquet")))
    dc = pq.read_table(next(raw.glob("source=dcgm/day=2026-11-10/*.parquet")))
    assert (nvml.num_rows, dc.num_rows) == (3, 2)
    assert dc["util_gpu_pct"].to_pylist() == [50.0, 50.0] and dc["power_w"].null_count == 2  # blank sentinel
    assert set(dc["host"].to_pylist()) == {"dgx-01"}

    bad = dcgm / "dcgm-20261110T050010Z.prom"
    bad.write_text(f"DCGM_FI_DEV_GPU_UTIL{{{LAB}}} 50\nDCGM_FI_DEV_GPU_UTIL{{{LAB} 50\n")
    res = _run(defs)
    assert not res.success
    text = "\n".join(ev.event_specific_data.error.message for ev in res.all_events
                     if ev.event_type_value == "STEP_FAILURE")
    assert "source 'dcgm' (dcgm_metrics)" in text and f"{bad}:2" in text and "previous data kept" in text
    assert pq.read_table(next(raw.glob("source=dcgm/day=2026-11-10/*.parquet"))).num_rows == 2
