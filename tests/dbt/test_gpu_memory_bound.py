"""The build fails when a GPU reports more framebuffer than its model has (gpu_memory_within_model_memory).

The guard against a changed source semantics: were a DCGM-exporter version to print the device's
memory on every MIG instance, the parser's per-instance sum would read 7 × the GPU's memory.
One real `dbt build` of the samples model, the seed and the test over a hand-made raw zone.
"""
from __future__ import annotations

from datetime import datetime, timezone

from connectors import rawzone
from raw_fixture import write_raw_zone
from test_dbt_build import dbt_build

MIB = 2**20


def _sample(uuid: str, total_mib: int) -> dict:
    return {"ts": datetime(2026, 11, 10, 10, tzinfo=timezone.utc), "host": "a800-node-01", "gpu_uuid": uuid,
            "gpu_index": 0, "name": "NVIDIA A800-SXM4-80GB", "mem_used_bytes": 0, "mem_total_bytes": total_mib * MIB,
            "mig_mode": True, "collector_version": "dcgm-exporter"}


def test_framebuffer_above_the_models_memory_fails_the_build(tmp_path):
    write_raw_zone(rawzone.raw_root(tmp_path), {"gpu_samples": [
        _sample("GPU-ok", 81_920),          # an A800 80GB's whole framebuffer: 80 GiB = the seed's memory_gib
        _sample("GPU-repeated", 7 * 81_920),  # the device's 80 GiB on each of 7 instances, summed
    ]})
    run = dbt_build(tmp_path, "gpu_models", "stg_gpu_telemetry__samples", "gpu_memory_within_model_memory")
    assert run.returncode != 0
    # one failing row: the 80 GiB GPU passes, the 560 GiB one does not
    assert "Failure in test gpu_memory_within_model_memory" in run.stdout and "Got 1 result" in run.stdout
