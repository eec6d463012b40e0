"""Model-server request logs as real servers and public traces write them — JSON lines, CSV and
Parquet, the native line, vLLM's per-request stats, the Azure LLM inference trace — loaded the way a
user loads them (`aispend run --config`, one source per shape, each mapped by `format` /
`columns` / `constants`), must land in fct_llm_calls with exactly their requests and tokens.

Before: `self_hosted_requests` read only `.jsonl` lines with `request_id`, `arrival_time` and
`model` (no CSV, no Parquet, no mapping), so none of these files but the native one could load.

None of these sources has GPU telemetry: the requests land unpriced (`price_source` 'unpriced',
null cost) and are queries of their own in fct_cost_per_query; they do not feed repatriation's
API demand (that is API traffic) nor the GPU cost allocation (no GPU-hours to share).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aispend_cli import aispend

UTC = timezone.utc
T0 = datetime(2026, 11, 10, 9, tzinfo=UTC)
S = T0.timestamp()

# native line (docs/contracts.md): unix-second floats, headers propagated by the caller
NATIVE = [
    {"request_id": "nat-1", "arrival_time": S, "finished_time": S + 2.5, "model": "llama", "prompt_tokens": 10,
     "completion_tokens": 5, "status": "ok", "host": "native-host", "gpus": ["GPU-a"],
     "headers": {"x-task-id": "task-1", "x-application": "chat"}},
    {"request_id": "nat-2", "arrival_time": S + 60, "finished_time": S + 61, "model": "llama", "prompt_tokens": 20,
     "completion_tokens": 0, "status": "error", "host": "native-host", "gpus": ["GPU-a"],
     "headers": {"x-task-id": "task-1", "x-application": "chat"}},
]
# vLLM: RequestStateStats.arrival_time + FinishedRequestStats (e2e_latency, token counts, finish reason)
VLLM = [
    {"request_id": "chatcmpl-1", "model_name": "meta-llama/Llama-3.1-8B-Instruct", "arrival_time": S + 3600,
     "e2e_latency": 1.25, "num_prompt_tokens": 100, "num_generation_tokens": 40, "finish_reason": "stop"},
    {"request_id": "chatcmpl-2", "model_name": "meta-llama/Llama-3.1-8B-Instruct", "arrival_time": S + 3601,
     "e2e_latency": 4.0, "num_prompt_tokens": 200, "num_generation_tokens": 256, "finish_reason": "length"},
    {"request_id": "chatcmpl-3", "model_name": "meta-llama/Llama-3.1-8B-Instruct", "arrival_time": S + 3602,
     "e2e_latency": 0.5, "num_prompt_tokens": 300, "num_generation_tokens": 0, "finish_reason": "abort"},
]
# a CSV of our own: unix milliseconds, latency in ms, short column names; model and status constant
CSV = ("id,ts_ms,latency_ms,in,out,srv\n"
       f"csv-1,{int(S * 1000) + 7200000},1500,1000,100,csv-host\n"
       f"csv-2,{int(S * 1000) + 7200500},250,2000,200,csv-host\n"
       f"csv-3,{int(S * 1000) + 7201000},3000,3000,300,csv-host\n")
# Parquet with real timestamps (start and finish), tokens as integers
PARQUET = {"rid": ["pq-1", "pq-2"], "start": [T0 + timedelta(hours=3), T0 + timedelta(hours=3, seconds=5)],
           "end": [T0 + timedelta(hours=3, seconds=2), T0 + timedelta(hours=3, seconds=9)],
           "served_model": ["mistral-7b", "mistral-7b"], "input_tokens": [7, 8], "output_tokens": [70, 80]}
# the Azure LLM inference trace's shape: text timestamps with 7 fractional digits, no id, no model
AZURE = ("TIMESTAMP,ContextTokens,GeneratedTokens\n"
         "2026-11-10 13:00:00.1234567,4808,10\n"
         "2026-11-10 13:00:01.9799600,3180,8\n"
         "2026-11-10 13:59:59.9999999,374,44\n")


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    root = tmp_path_factory.mktemp("self_hosted_formats")
    (root / "native.jsonl").write_text("\n".join(json.dumps(r) for r in NATIVE) + "\n")
    (root / "vllm.jsonl").write_text("\n".join(json.dumps(r) for r in VLLM) + "\n")
    (root / "requests.csv").write_text(CSV)
    pq.write_table(pa.table(PARQUET), root / "requests.parquet")
    (root / "trace").mkdir()
    (root / "trace" / "AzureStyle_code.csv").write_text(AZURE)
    cfg = root / "aispend.yaml"
    cfg.write_text(f"""start_date: "2026-11-10"
sources:
  - {{name: native, type: self_hosted_requests, uri: {root / 'native.jsonl'}}}
  - {{name: vllm, type: self_hosted_requests, uri: {root / 'vllm.jsonl'}, format: vllm,
     constants: {{host: vllm-host}}}}
  - {{name: own-csv, type: self_hosted_requests, uri: {root / 'requests.csv'},
     columns: {{request_id: id, started_at: unix_ms(ts_ms), duration_s: ms(latency_ms), prompt_tokens: in,
               completion_tokens: out, host: srv}},
     constants: {{model: llama-3-8b, status: ok}}}}
  - {{name: parquet, type: self_hosted_requests, uri: {root / 'requests.parquet'},
     columns: {{request_id: rid, started_at: start, finished_at: end, model: served_model,
               prompt_tokens: input_tokens, completion_tokens: output_tokens}},
     constants: {{host: parquet-host, status: ok}}}}
  - {{name: azure-style, type: self_hosted_requests, uri: {root / 'trace'}, format: azure_llm_trace,
     constants: {{model: azure-trace-model, host: azure-host}}}}
""")
    run = aispend("run", "--config", str(cfg), "--end", "2026-11-10", home=root / "home")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    con = duckdb.connect(str(root / "home" / "warehouse" / "aispend.duckdb"), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    yield con
    con.close()


def test_every_shape_lands_with_its_requests_and_tokens(wh):
    rows = wh.execute(
        "select r.host, count(*), sum(c.input_tokens), sum(c.output_tokens), count(*) filter (where c.status = 'ok'), "
        "min(c.model), min(c.application), sum(epoch(c.ended_at) - epoch(c.started_at)), min(c.started_at) "
        "from fct_llm_calls c join stg_self_hosted__requests r on r.request_id = c.call_id "
        "where c.serving = 'self_hosted' group by r.host order by r.host").fetchall()
    assert rows == [
        # 3 rows; the Azure-style trace has no latency: finish = arrival (the preset's duration_s 0)
        ("azure-host", 3, 4808 + 3180 + 374, 10 + 8 + 44, 3, "azure-trace-model", "AzureStyle_code", 0.0,
         datetime(2026, 11, 10, 13, 0, 0, 123456, tzinfo=UTC)),
        ("csv-host", 3, 6000, 600, 3, "llama-3-8b", None, 4.75, T0 + timedelta(hours=2)),
        ("native-host", 2, 30, 5, 1, "llama", "chat", 3.5, T0),
        ("parquet-host", 2, 15, 150, 2, "mistral-7b", None, 6.0, T0 + timedelta(hours=3)),
        # abort is no answer: 2 of 3 ok
        ("vllm-host", 3, 600, 296, 2, "meta-llama/Llama-3.1-8B-Instruct", None, 5.75, T0 + timedelta(hours=1)),
    ]
    # the trace's ids are its file and data row; 7 fractional digits are cut, not rounded
    assert wh.execute("select call_id, started_at from fct_llm_calls where provider = 'self_hosted' "
                      "and model = 'azure-trace-model' order by 1").fetchall() == [
        ("AzureStyle_code.csv:1", datetime(2026, 11, 10, 13, 0, 0, 123456, tzinfo=UTC)),
        ("AzureStyle_code.csv:2", datetime(2026, 11, 10, 13, 0, 1, 979960, tzinfo=UTC)),
        ("AzureStyle_code.csv:3", datetime(2026, 11, 10, 13, 59, 59, 999999, tzinfo=UTC))]


def test_without_gpu_telemetry_requests_are_unpriced_queries(wh):
    assert wh.execute("select price_source, count(*), count(cost_usd) from fct_llm_calls "
                      "where serving = 'self_hosted' group by all").fetchall() == [("unpriced", 13, 0)]
    # one query per request, except the native pair that shares its x-task-id
    assert wh.execute("select count(*), sum(calls), count(cost_usd) from fct_cost_per_query "
                      "where serving = 'self_hosted'").fetchall() == [(12, 13, 0)]
    assert wh.execute("select count(*) from fct_gpu_cost_allocation").fetchall() == [(0,)]
    assert wh.execute("select count(*) from fct_repatriation_candidates").fetchall() == [(0,)]


def test_a_bad_value_fails_the_load_naming_file_and_line(tmp_path):
    home = tmp_path / "home"
    bad = tmp_path / "bad.csv"
    bad.write_text(AZURE.replace("3180", "-3180"))
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f'start_date: "2026-11-10"\nsources:\n  - {{name: trace, type: self_hosted_requests, '
                   f"uri: {bad}, format: azure_llm_trace, constants: {{model: m, host: h}}}}\n")
    run = aispend("run", "--config", str(cfg), "--end", "2026-11-10", home=home)
    assert run.returncode != 0
    assert (f"self_hosted_requests: {bad}:3: prompt_tokens ('ContextTokens'): cannot read '-3180' "
            "('-3180' is negative)") in run.stdout + run.stderr
    assert not (home / "warehouse" / "aispend.duckdb").exists()
    assert not (home / "lake" / "raw" / "self_hosted_requests" / "source=trace").exists()
