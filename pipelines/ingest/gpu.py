"""On-prem GPU telemetry → raw `gpu_samples`, per day: aispend collector files (`gpu_telemetry`,
local directory or s3:// prefix of many hosts; option `format: alibaba_gentd26` reads that public
trace) and DCGM-exporter scrapes (`dcgm_metrics`) feed the same raw table."""

from connectors import dcgm, plausible
from connectors import gpu_telemetry as conn
from pipelines.config import SourceConfig
from pipelines.ingest._factory import RawSpec
from pipelines.ingest.aws import aws_options, s3_client
from pipelines.options import Option, gpu_bounds_options


def _fetch(src: SourceConfig, start, end):
    # physical bounds per sample (connectors.plausible.GPU_BOUNDS), a sample named by file + host, GPU, ts
    return plausible.checked(_read(src, start, end), lambda t: plausible.check_bounds(
        t, src.type, plausible.GPU_BOUNDS, src.options, ident=conn.IDENTITY))


def _read(src: SourceConfig, start, end):
    client = s3_client(src)  # profile / role_arn / endpoint_url / region options, as for AWS exports
    if src.type == "dcgm_metrics":
        return dcgm.read_metrics(src.uri, start, end, s3_client=client)
    fmt = src.options.get("format")
    if fmt in (None, "collector"):  # streamed per slice of hour files: a fleet's day in bounded memory
        return conn.iter_samples(src.uri, start, end, s3_client=client)
    return conn.read_samples(src.uri, start, end, s3_client=client, fmt=fmt)


OPTIONS = {
    "gpu_telemetry": (Option("format", "choice", "file layout: the aispend collector's hourly files, or the public "
                                                 "Alibaba GenTD26 trace read as telemetry",
                             default="collector", choices=("collector", "alibaba_gentd26")),
                      *aws_options(s3_only=True), *gpu_bounds_options()),
    "dcgm_metrics": aws_options(s3_only=True) + gpu_bounds_options(),
}

SPECS = [RawSpec(
    raw_table="gpu_samples", source_type="gpu_telemetry", extra_source_types=("dcgm_metrics",), cadence="daily",
    schema=conn.SCHEMAS["gpu_samples"], ts_column=conn.PARTITION_TS_COLUMN["gpu_samples"], daily_fetch=_fetch,
    description="GPU samples per GPU (by UUID) every ~10 s from the aispend collector (NVML) or DCGM "
                "exporter scrapes: utilisation, SM/tensor activity, power, energy counter. Turned into "
                "GPU-hours, energy and owned-GPU cost (incl. idle) in fct_gpu_hours.",
)]
