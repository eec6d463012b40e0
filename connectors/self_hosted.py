"""Self-hosted model-server request logs and public request traces, one row per request.

Files: JSON lines (``.jsonl``), CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``). What each of
our fields comes from is data, not code: a *format* (a preset in ``self_hosted_formats.csv`` beside
this module: ``aispend`` — the native line of docs/contracts.md —, ``vllm``, ``azure_llm_trace``)
overridden per field by the source options ``columns`` (field → column or expression) and
``constants`` (field → value, for what the file lacks: ``host``, ``model``, a default
``duration_s``…; beside a column, only where that column is empty). Expressions: ``col`` (a JSON
line's dotted path ``headers.x-task-id`` walks nested objects), ``unix_s(col)`` / ``unix_ms(col)``
/ ``unix_ns(col)`` (epoch numbers), ``ms(col)`` (a duration in milliseconds), ``row_id()``
(``<file name>:<row>``, for traces without ids) and ``file_stem()`` (the file's name without
extensions). A bare timestamp column reads
numbers as unix seconds and text as ISO 8601 (no zone = UTC; more than 6 fractional digits are cut
to microseconds). ``finished_at`` = ``started_at`` + ``duration_s`` where the file has no finish.

Errors (`SourceError`): a field the mapping cannot fill (names the option to set), a mapped column
missing from a CSV / Parquet file, an unparseable value, negative tokens or duration, a row without
request id / model / host / start / finish — each naming the file and line (JSON lines, CSV) or row
(Parquet). Raised before anything is returned, so nothing of that load is written.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple

import pyarrow as pa

from connectors._files import json_lines, list_files, read_table, reject_identical
from connectors.errors import SourceError

SOURCE = "self_hosted_requests"
TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {"self_hosted_requests": pa.schema([
    ("request_id", pa.string()), ("task_id", pa.string()), ("application", pa.string()), ("model", pa.string()),
    ("host", pa.string()), ("gpu_uuids", pa.string()), ("started_at", TS), ("finished_at", TS),
    ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()), ("status", pa.string()),
    ("_source_uri", pa.string())])}
PARTITION_TS_COLUMN = {"self_hosted_requests": "started_at"}
# count columns under a plausible-range check (connectors.plausible, USAGE limits), a record named by IDENTITY
PLAUSIBLE = {"quantity": ("prompt_tokens", "completion_tokens")}
IDENTITY = ("request_id",)

# the raw columns a mapping fills, plus duration_s (finished_at = started_at + duration_s)
FIELDS = tuple(f.name for f in SCHEMAS["self_hosted_requests"] if f.name != "_source_uri") + ("duration_s",)
# per row: the raw zone's suite needs them (a finish, from finished_at or duration_s, is checked apart)
REQUIRED = ("request_id", "model", "host", "started_at")
_TS_FNS = {"unix_s": 1.0, "unix_ms": 1e3, "unix_ns": 1e9}
_EXPR = re.compile(r"^(\w+)\((.*)\)$")
_MISSING = object()
_SUFFIXES = (".jsonl", ".csv", ".csv.gz", ".parquet")


def _load_formats() -> dict[str, dict[str, tuple[str, str]]]:
    out: dict[str, dict[str, tuple[str, str]]] = {}
    with open(Path(__file__).with_name("self_hosted_formats.csv"), newline="") as fh:
        for r in csv.DictReader(fh):
            out.setdefault(r["format"], {})[r["field"]] = (
                ("column", r["column"]) if r["column"] else ("constant", r["constant"]))
    return out


FORMATS = _load_formats()


class Source(NamedTuple):
    """Where one field comes from: a column through `fn` ('' = as it is; row_id / file_stem need no
    column), else — or where that column is empty — the `constant`. `strict`: a CSV / Parquet
    file must have the column."""

    fn: str
    column: str
    constant: str | None
    strict: bool


def resolve_mapping(uri: str, fmt: str = "aispend", columns: Mapping[str, Any] | None = None,
                    constants: Mapping[str, Any] | None = None) -> dict[str, Source]:
    """field → Source. The preset's entries, then `columns` (replace its column) and `constants`
    (replace its constant; a constant beside a column is the default where the column is empty).
    Strict: a column named in `columns`, or one feeding a required field or a token count with no
    constant beside it; a preset's other columns may be absent (null)."""
    if fmt not in FORMATS:
        raise SourceError(SOURCE, uri, f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    col: dict[str, str] = {}
    const: dict[str, str] = {}
    for field, (kind, text) in FORMATS[fmt].items():
        (col if kind == "column" else const)[field] = text
    for kind, given, target in (("columns", columns or {}, col), ("constants", constants or {}, const)):
        for field, value in given.items():
            if field not in FIELDS:
                raise SourceError(SOURCE, uri, f"{kind}: {field!r} is not a field ({', '.join(FIELDS)})")
            target[field] = str(value).strip()
    out = {}
    for field in FIELDS:
        fn, arg = "", col.get(field, "")
        m = _EXPR.match(arg)
        if m:
            fn, arg = m.group(1), m.group(2).strip()
            known = {"row_id": "", "file_stem": ""} | dict.fromkeys((*_TS_FNS, "ms"), "col")
            if fn not in known or bool(arg) != bool(known[fn]):
                raise SourceError(SOURCE, uri, f"columns: {field}: {col[field]!r} is not a column or one of "
                                               "unix_s(col), unix_ms(col), unix_ns(col), ms(col), row_id(), "
                                               "file_stem()")
        if field in const:  # a bad constant is the config's error, not every row's
            try:
                _value(field, "", const[field])
            except (ValueError, TypeError, OverflowError, OSError) as e:
                raise SourceError(SOURCE, uri, f"constants: {field}: cannot read {const[field]!r} ({e})") from None
        if fn or arg or field in const:
            strict = bool(arg) and (field in (columns or {}) or (
                field in (*REQUIRED, "prompt_tokens", "completion_tokens") and field not in const))
            out[field] = Source(fn, arg, const.get(field), strict)
    for field in REQUIRED:
        if field not in out:
            raise SourceError(SOURCE, uri, f"{field}: the {fmt} format has no {field}: name its column (columns: "
                                           f"{{{field}: <column>}}) or give it (constants: {{{field}: <value>}})")
    return out


def _where(f: str, n: int) -> str:
    """Where row `n` of `f` is: ``file:line`` (JSON lines: the line; CSV: data row + header line)
    or ``file row N`` (Parquet)."""
    if f.endswith(".parquet"):
        return f"{f} row {n}"
    return f"{f}:{n if f.endswith('.jsonl') else n + 1}"


def _rows(f: str, mapping: dict) -> Iterator[tuple[int, dict]]:
    """(row number, row) of one file (numbers as `_where` reads them). A mapped column missing
    from a CSV / Parquet header is an error."""
    if f.endswith(".jsonl"):
        for _, n, obj in json_lines(SOURCE, [f], "request log line"):
            if not isinstance(obj, dict):
                raise SourceError(SOURCE, f"{f}:{n}", "request log line is not a JSON object")
            yield n, obj
        return
    if not f.endswith(_SUFFIXES):
        raise SourceError(SOURCE, f, "not a request log file (.jsonl, .csv, .csv.gz or .parquet)")
    try:
        t = read_table(f)
    except (pa.ArrowInvalid, OSError) as e:
        raise SourceError(SOURCE, f, f"unreadable request log ({e})") from None
    for field, src in mapping.items():
        if src.strict and src.column not in t.column_names:
            raise SourceError(SOURCE, f, f"missing column {src.column!r} (mapped to {field}); the file has "
                                         f"{', '.join(t.column_names)}")
    yield from enumerate(t.to_pylist(), 1)


def _lookup(row: dict, col: str) -> Any:
    if col in row:
        return row[col]
    node: Any = row
    for part in col.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError(f"{v!r} is not a number")
    return float(v)


def _timestamp(v: Any, fn: str) -> datetime:
    if fn:
        return datetime.fromtimestamp(_number(v) / _TS_FNS[fn], timezone.utc)
    if isinstance(v, datetime):
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)
    if isinstance(v, str):
        text = v.strip()
        try:
            return datetime.fromtimestamp(float(text), timezone.utc)
        except ValueError:
            pass
        # Python reads up to 6 fractional digits; the Azure trace writes 7: cut, never round
        text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
        ts = datetime.fromisoformat(text)
        return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
    return datetime.fromtimestamp(_number(v), timezone.utc)


def _count(v: Any) -> int:
    n = _number(v)
    if n != int(n):
        raise ValueError(f"{v!r} is not a whole number")
    if n < 0:
        raise ValueError(f"{v!r} is negative")
    return int(n)


def _gpus(v: Any) -> str:
    if isinstance(v, str):
        v = json.loads(v) if v.strip().startswith("[") else [g.strip() for g in v.split(",") if g.strip()]
    if not isinstance(v, (list, tuple)) or not all(isinstance(g, str) for g in v):
        raise ValueError(f"{v!r} is not a list of GPU UUIDs")
    return json.dumps(list(v))


def _value(field: str, fn: str, raw: Any) -> Any:
    if raw is None:
        return None
    if field in ("started_at", "finished_at"):
        return _timestamp(raw, fn)
    if field in ("prompt_tokens", "completion_tokens"):
        return _count(raw)
    if field == "duration_s":
        s = _number(raw) / (1e3 if fn == "ms" else 1.0)
        if s < 0:
            raise ValueError(f"{raw!r} is negative")
        return s
    if field == "gpu_uuids":
        return _gpus(raw)
    return str(raw)


def read_requests(uri: str, start: datetime, end: datetime, fmt: str = "aispend",
                  columns: Mapping[str, Any] | None = None, constants: Mapping[str, Any] | None = None) -> pa.Table:
    """Requests that arrived in [start, end), from a directory, file or glob (``self_hosted_requests``),
    read through the `fmt` preset with `columns` / `constants` overrides (module docstring)."""
    mapping = resolve_mapping(uri, fmt, columns, constants)
    schema = SCHEMAS["self_hosted_requests"]
    lo, hi = start.timestamp(), end.timestamp()
    cols: dict[str, list] = {f.name: [] for f in schema}
    files = list_files(uri, (".jsonl", ".csv", ".parquet", ".gz"))
    if not Path(uri).is_file():  # beside a folder's logs may lie rotated .log.gz / .jsonl.gz: not ours
        files = [f for f in files if f.endswith(_SUFFIXES)]
    reject_identical(SOURCE, files)
    if not files:  # a wrong path must not look like a quiet day
        raise SourceError(SOURCE, uri, "no request log files found (.jsonl, .csv, .csv.gz, .parquet)")
    # started_at first: a row outside the window is skipped before the rest is read
    plan = [(field, src, f"{field} ({src.column!r})" if src.column else field, field in REQUIRED)
            for field, src in sorted(mapping.items(), key=lambda kv: kv[0] != "started_at")]
    for f in files:
        name = Path(f).name
        for n, r in _rows(f, mapping):
            row: dict[str, Any] = {}
            for field, src, where_col, required in plan:
                fn, col = src.fn, src.column
                if fn == "row_id":
                    raw: Any = f"{name}:{n}"
                elif fn == "file_stem":
                    raw = name.split(".")[0]
                elif col:
                    raw = r[col] if col in r else _lookup(r, col)  # a preset's optional column absent: null
                    if raw is _MISSING or raw == "":
                        raw = None
                else:
                    raw = None
                if raw is None and src.constant is not None:
                    raw, fn = src.constant, ""
                if raw is None and required:
                    raise SourceError(SOURCE, _where(f, n), f"{where_col}: missing")
                try:
                    row[field] = _value(field, fn, raw)
                except (ValueError, TypeError, OverflowError, OSError) as e:
                    raise SourceError(SOURCE, _where(f, n), f"{where_col}: cannot read {raw!r} ({e})") from None
                if field == "started_at" and not lo <= row[field].timestamp() < hi:
                    break  # outside the window: not this load's request
            else:
                if row.get("finished_at") is None and row.get("duration_s") is not None:
                    row["finished_at"] = row["started_at"] + timedelta(seconds=row["duration_s"])
                if row.get("finished_at") is None:  # the raw zone's suite needs a finish on every row
                    used = [f"{k} ({mapping[k].column!r})" for k in ("finished_at", "duration_s") if k in mapping]
                    raise SourceError(SOURCE, _where(f, n), f"no finish time: {' and '.join(used)} empty; a default "
                                                            "latency can be given (constants: {duration_s: <seconds>})")
                row["gpu_uuids"] = row.get("gpu_uuids") or "[]"
                row["_source_uri"] = f
                for k in cols:  # appended only once the whole row parsed: columns stay aligned
                    cols[k].append(row.get(k))
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)
