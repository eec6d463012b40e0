"""`connectors.self_hosted`: the column mapping (format presets kept as data, `columns` /
`constants` overrides) and its errors, each naming the source, the file and line / row, and what
is wrong. End-to-end shapes through `aispend run`: tests/e2e/test_model_server_logs.py."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import self_hosted
from connectors.errors import SourceError

UTC = timezone.utc
DAY = (datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC))
AZURE = "TIMESTAMP,ContextTokens,GeneratedTokens\n2026-11-10 18:17:03.9799600,4808,10\n"
KNOWN = {"model": "m", "host": "h"}


def read(path: Path, fmt: str = "aispend", columns=None, constants=None):
    return self_hosted.read_requests(str(path), *DAY, fmt=fmt, columns=columns, constants=constants)


def test_presets_are_data_with_one_source_per_field():
    with open(Path(self_hosted.__file__).with_name("self_hosted_formats.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["format"] for r in rows} == {"aispend", "vllm", "azure_llm_trace"} == set(self_hosted.FORMATS)
    assert all(r["field"] in self_hosted.FIELDS and bool(r["column"]) != bool(r["constant"]) for r in rows)
    assert len({(r["format"], r["field"]) for r in rows}) == len(rows)
    # vLLM's FinishedRequestStats names, arrival from RequestStateStats
    assert self_hosted.FORMATS["vllm"]["prompt_tokens"] == ("column", "num_prompt_tokens")
    assert self_hosted.FORMATS["vllm"]["duration_s"] == ("column", "e2e_latency")


def test_azure_trace_shape_with_constants(tmp_path):
    (tmp_path / "AzureLLMInferenceTrace_conv.csv").write_text(AZURE)
    r = read(tmp_path, "azure_llm_trace", constants=KNOWN).to_pylist()
    ts = datetime(2026, 11, 10, 18, 17, 3, 979960, tzinfo=UTC)
    assert [(x["request_id"], x["application"], x["model"], x["host"], x["started_at"], x["finished_at"],
             x["prompt_tokens"], x["completion_tokens"], x["status"], x["gpu_uuids"]) for x in r] == [
        ("AzureLLMInferenceTrace_conv.csv:1", "AzureLLMInferenceTrace_conv", "m", "h", ts, ts, 4808, 10, "ok", "[]")]
    # a default latency from the config wins over the preset's 0; gzip CSV reads the same
    import gzip
    (tmp_path / "AzureLLMInferenceTrace_conv.csv").unlink()
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(AZURE.encode()))
    r = read(tmp_path, "azure_llm_trace", constants={**KNOWN, "duration_s": "2.5"}).to_pylist()
    assert (r[0]["finished_at"] - r[0]["started_at"]).total_seconds() == 2.5 and r[0]["request_id"] == "t.csv.gz:1"


def test_gpus_from_text_and_lists(tmp_path):
    (tmp_path / "a.csv").write_text('id,t,g,prompt_tokens,completion_tokens\n'
                                    'r1,1794312000,"GPU-a,GPU-b",1,2\nr2,1794312001,"[""GPU-c""]",3,4\n')
    t = read(tmp_path / "a.csv", columns={"request_id": "id", "started_at": "t", "gpu_uuids": "g"},
             constants={**KNOWN, "duration_s": 0})
    assert [json.loads(g) for g in t["gpu_uuids"].to_pylist()] == [["GPU-a", "GPU-b"], ["GPU-c"]]
    t = read(tmp_path / "a.csv", columns={"request_id": "id", "started_at": "t"},
             constants={**KNOWN, "duration_s": 0, "gpu_uuids": "GPU-x"})
    assert t["gpu_uuids"].to_pylist() == ['["GPU-x"]', '["GPU-x"]']


def test_what_the_mapping_cannot_fill_names_the_option(tmp_path):
    (tmp_path / "t.csv").write_text(AZURE)
    with pytest.raises(SourceError, match=r"^self_hosted_requests: .*: host: the azure_llm_trace format has no host: "
                                          r"name its column \(columns: \{host: <column>\}\) or give it "
                                          r"\(constants: \{host: <value>\}\)$"):
        read(tmp_path, "azure_llm_trace", constants={"model": "m"})
    with pytest.raises(SourceError, match=r"columns: started_at: 'epoch\(t\)' is not a column or one of unix_s"):
        read(tmp_path, columns={"started_at": "epoch(t)"}, constants=KNOWN)
    with pytest.raises(SourceError, match=rf"^self_hosted_requests: {tmp_path}: constants: duration_s: cannot read "
                                          r"'-1' \('-1' is negative\)$"):
        read(tmp_path, "azure_llm_trace", constants={**KNOWN, "duration_s": -1})


def test_a_constant_beside_a_column_fills_only_its_empty_cells(tmp_path):
    f = tmp_path / "v.jsonl"
    line = {"request_id": "c1", "model_name": "m", "arrival_time": 1794304800, "e2e_latency": 2,
            "num_prompt_tokens": 1, "num_generation_tokens": 1, "finish_reason": "stop"}
    f.write_text(json.dumps(line) + "\n" + json.dumps({**line, "request_id": "c2", "e2e_latency": None}) + "\n")
    t = read(f, "vllm", constants={"host": "h", "duration_s": 0.5}).to_pylist()
    assert [(x["finished_at"] - x["started_at"]).total_seconds() for x in t] == [2.0, 0.5]


def test_missing_mapped_column_names_file_and_column(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text(AZURE.replace("ContextTokens", "PromptTokens"))
    with pytest.raises(SourceError, match=rf"^self_hosted_requests: {f}: missing column 'ContextTokens' \(mapped to "
                                          r"prompt_tokens\); the file has TIMESTAMP, PromptTokens, GeneratedTokens$"):
        read(f, "azure_llm_trace", constants=KNOWN)


@pytest.mark.parametrize("value, problem", [
    ("yesterday", r"started_at \('TIMESTAMP'\): cannot read 'yesterday' \(Invalid isoformat string"),
    ("", r"started_at \('TIMESTAMP'\): missing$"),
])
def test_bad_timestamp_names_line(tmp_path, value, problem):
    f = tmp_path / "t.csv"
    f.write_text(AZURE + f"{value},1,1\n")
    with pytest.raises(SourceError, match=rf"^self_hosted_requests: {f}:3: {problem}"):
        read(f, "azure_llm_trace", constants=KNOWN)


def test_parquet_rows_and_negative_values(tmp_path):
    f = tmp_path / "r.parquet"
    t0 = datetime(2026, 11, 10, 9, tzinfo=UTC)
    pq.write_table(pa.table({"rid": ["a", "b"], "start": [t0, t0], "lat_ms": [100, -5], "i": [1, 2], "o": [3, 4]}), f)
    cols = {"request_id": "rid", "started_at": "start", "duration_s": "ms(lat_ms)", "prompt_tokens": "i",
            "completion_tokens": "o"}
    with pytest.raises(SourceError, match=rf"^self_hosted_requests: {f} row 2: duration_s \('lat_ms'\): "
                                          r"cannot read -5 \(-5 is negative\)$"):
        read(f, columns=cols, constants=KNOWN)
    pq.write_table(pa.table({"rid": ["a"], "start": [t0], "lat_ms": [100], "i": [1.5], "o": [3]}), f)
    with pytest.raises(SourceError, match=rf"^{self_hosted.SOURCE}: {f} row 1: prompt_tokens \('i'\): cannot read 1.5 "
                                          r"\(1.5 is not a whole number\)$"):
        read(f, columns=cols, constants=KNOWN)


def test_json_line_without_host_or_finish(tmp_path):
    f = tmp_path / "v.jsonl"
    line = {"request_id": "c1", "model_name": "m", "arrival_time": 1794304800.5, "e2e_latency": 1,
            "num_prompt_tokens": 1, "num_generation_tokens": 1, "finish_reason": "stop"}
    f.write_text(json.dumps(line) + "\n" + json.dumps({**line, "e2e_latency": None}) + "\n")
    with pytest.raises(SourceError, match=rf"^self_hosted_requests: {f}:2: no finish time: duration_s "
                                          r"\('e2e_latency'\) empty; a default latency can be given"):
        read(f, "vllm", constants={"host": "h"})
    f.write_text(json.dumps(line) + "\n")
    with pytest.raises(SourceError, match=rf"^self_hosted_requests: {f}:1: host \('srv'\): missing$"):
        read(f, "vllm", columns={"host": "srv"})
    t = read(f, "vllm", constants={"host": "h"}).to_pylist()[0]
    assert t["started_at"] == datetime(2026, 11, 10, 10, 0, 0, 500000, tzinfo=UTC) and t["status"] == "stop"


def test_folder_reads_only_request_log_files(tmp_path):
    (tmp_path / "t.csv").write_text(AZURE)
    (tmp_path / "vllm.log.gz").write_bytes(b"\x1f\x8b not ours")  # rotated server logs beside the export
    assert read(tmp_path, "azure_llm_trace", constants=KNOWN).num_rows == 1
    gz = tmp_path / "vllm.log.gz"
    with pytest.raises(SourceError, match=rf"^self_hosted_requests: {gz}: not a request log file"):
        read(gz, "azure_llm_trace", constants=KNOWN)
