"""On-prem GPU telemetry (collector files) → raw `gpu_samples`, per day."""

from connectors import gpu_telemetry as conn
from pipelines.ingest._factory import RawSpec

SPECS = [RawSpec(
    raw_table="gpu_samples", source_type="gpu_telemetry", cadence="daily", schema=conn.SCHEMAS["gpu_samples"],
    ts_column=conn.PARTITION_TS_COLUMN["gpu_samples"],
    daily_fetch=lambda src, s, e: conn.read_samples(src.uri, s, e),
    description="NVML samples per GPU (by UUID) every ~10 s: utilisation, power, energy counter. "
                "Turned into GPU-hours, energy and owned-GPU cost (incl. idle) in fct_gpu_hours.",
)]
