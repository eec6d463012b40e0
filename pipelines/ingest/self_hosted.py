"""Self-hosted model-server request logs and public request traces (JSON lines / CSV / Parquet)
→ raw `self_hosted_requests`, per day. How a file's columns become our fields is data: the
`format` preset (connectors/self_hosted_formats.csv) with `columns` / `constants` overrides."""

from connectors import plausible
from connectors import self_hosted as conn
from pipelines.ingest._factory import RawSpec
from pipelines.options import Option, plausible_options

_FIELDS = tuple(conn.FIELDS)

OPTIONS = {"self_hosted_requests": (
    Option("format", "choice", "which log or trace layout the files have (a preset of columns and constants in "
                               "connectors/self_hosted_formats.csv)", default="aispend", choices=tuple(conn.FORMATS)),
    Option("columns", "map", "per field, the file's column (a dotted path into JSON objects) or unix_s(col), "
                             "unix_ms(col), unix_ns(col), ms(col), row_id(), file_stem(); overrides the format's",
           choices=_FIELDS),
    Option("constants", "map", "per field, a value where the file lacks it (host, model, a default duration_s "
                               "latency…): every row, or beside a column the rows where it is empty; overrides the "
                               "format's", choices=_FIELDS),
    *plausible_options(usage=True, cost=False),
)}

SPECS = [RawSpec(
    raw_table="self_hosted_requests", source_type="self_hosted_requests", cadence="daily",
    schema=conn.SCHEMAS["self_hosted_requests"], ts_column=conn.PARTITION_TS_COLUMN["self_hosted_requests"],
    daily_fetch=lambda src, s, e: plausible.guard(conn.read_requests(
        src.uri, s, e, fmt=src.options.get("format", "aispend"), columns=src.options.get("columns"),
        constants=src.options.get("constants")), src.type, src.options, conn.PLAUSIBLE, ident=conn.IDENTITY),
    description="One row per request served by an owned model server, or of a public request trace (tokens, "
                "timing, GPUs): priced by its share of GPU time, comparable with API calls.",
)]
