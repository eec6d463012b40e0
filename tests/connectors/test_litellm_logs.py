"""LiteLLM SpendLogs exports in the three formats the proxy's data can leave in: the same rows must
read the same from CSV, Parquet and JSON lines."""

import csv
import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import litellm_logs as ll
from connectors.errors import SourceError

UTC = timezone.utc
DAY = (datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))

META = {"user_api_key_alias": "support-bot",
        "additional_usage_values": {"prompt_tokens_details": {"cached_tokens": 800}},
        "usage_object": {"prompt_tokens": 1200, "completion_tokens": 50, "total_tokens": 1250,
                         "prompt_tokens_details": {"cached_tokens": 800}}}
ROWS = [
    # a retried call: the failed attempt and the success are both logged, same session
    {"request_id": "chatcmpl-1", "call_type": "acompletion",
     "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
     "spend": 0.0, "total_tokens": 0, "prompt_tokens": 0, "completion_tokens": 0,
     "startTime": "2026-11-10 09:00:00.120", "endTime": "2026-11-10 09:00:30.000", "model": "gpt-4o",
     "model_group": "gpt-4o", "custom_llm_provider": "openai", "user": "u1", "team_id": "support",
     "end_user": "", "session_id": "sess-1", "status": "failure", "cache_hit": "False",
     "request_tags": ["support"], "metadata": {"status": "failure"}},
    {"request_id": "chatcmpl-2", "call_type": "acompletion", "api_key": "88dc28d0", "spend": 0.00275,
     "total_tokens": 1250, "prompt_tokens": 1200, "completion_tokens": 50,
     "startTime": "2026-11-10T09:00:31.5Z", "endTime": "2026-11-10T09:00:33Z", "model": "gpt-4o",
     "model_group": "gpt-4o", "custom_llm_provider": "openai", "user": "u1", "team_id": "support",
     "end_user": "", "session_id": "sess-1", "status": "success", "cache_hit": "False",
     "request_tags": ["support"], "metadata": META},
    # next day: outside the window
    {"request_id": "chatcmpl-3", "call_type": "acompletion", "api_key": "x", "spend": 0.1, "total_tokens": 10,
     "prompt_tokens": 5, "completion_tokens": 5, "startTime": "2026-11-11 00:00:00", "endTime": "2026-11-11 00:00:01",
     "model": "claude-sonnet-4-5", "custom_llm_provider": "anthropic", "session_id": "", "status": "success",
     "metadata": {}},
]


def _write(tmp_path, fmt, rows=ROWS):
    if fmt == "jsonl":
        p = tmp_path / "spend.jsonl"
        p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    elif fmt == "csv":
        p = tmp_path / "spend.csv"
        cols = sorted({k for r in rows for k in r})
        with p.open("w", newline="") as fh:
            w = csv.DictWriter(fh, cols)
            w.writeheader()
            for r in rows:
                w.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()})
    else:
        p = tmp_path / "spend.parquet"
        pq.write_table(pa.Table.from_pylist([{**r, "metadata": json.dumps(r["metadata"]),
                                              "request_tags": json.dumps(r.get("request_tags"))} for r in rows]), p)
    return str(p)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_same_rows_from_every_format(tmp_path, fmt):
    t = ll.read_logs(_write(tmp_path, fmt), *DAY)
    assert t.schema == ll.SCHEMA
    assert t.column("request_id").to_pylist() == ["chatcmpl-1", "chatcmpl-2"]  # retries kept, next day out
    assert t.column("status").to_pylist() == ["failure", "success"]
    assert t.column("prompt_tokens").to_pylist() == [0, 1200]
    assert t.column("spend").to_pylist() == [0.0, 0.00275]
    assert [str(x) for x in t.column("startTime").to_pylist()] == \
        ["2026-11-10 09:00:00.120000+00:00", "2026-11-10 09:00:31.500000+00:00"]
    assert json.loads(t.column("metadata")[1].as_py())["usage_object"]["prompt_tokens_details"]["cached_tokens"] == 800
    assert t.column("session_id").to_pylist() == ["sess-1", "sess-1"]
    assert t.column("completionStartTime").null_count == 2  # column absent from the export


def test_malformed_json_line_names_file_and_line(tmp_path):
    p = tmp_path / "spend.jsonl"
    p.write_text(json.dumps(ROWS[1]) + "\n{oops\n")
    with pytest.raises(SourceError, match=r"spend\.jsonl:2.*malformed SpendLogs JSON line"):
        ll.read_logs(str(p), *DAY)


def test_negative_tokens_rejected(tmp_path):
    p = _write(tmp_path, "jsonl", [{**ROWS[1], "completion_tokens": -50}])
    with pytest.raises(SourceError, match=r"spend\.jsonl.*negative completion_tokens"):
        ll.read_logs(p, *DAY)


def test_not_a_spendlogs_export(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match=r"x\.csv.*missing column 'request_id'"):
        ll.read_logs(str(p), *DAY)


def test_bad_timestamp_names_column(tmp_path):
    p = _write(tmp_path, "jsonl", [{**ROWS[1], "startTime": "yesterday"}])
    with pytest.raises(SourceError, match=r"spend\.jsonl.*startTime"):
        ll.read_logs(p, *DAY)
