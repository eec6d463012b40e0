"""Real reference data (../shared/data) loaded the way a user loads it: `aispend run --config`.

The real-data tests read the marts from the published warehouse, `$AISPEND_HOME/warehouse/
aispend.duckdb`, after the whole pipeline ran on the shared files: connectors, the raw zone's
Great Expectations suites, the full dbt build with its tests, the publish. No test writes the raw
zone or the warehouse itself: a check that would reject the real files must fail these tests.

`real_run` (conftest.py) is one session-wide run over billing exports (legacy CUR, the official
FOCUS sample, the FOCUS 1.2 spec's commitment examples), agent transcripts (tau-bench, SWE-agent),
a small LiteLLM gateway log, the GenTD26 GPU trace and the Azure LLM inference trace (model-server
requests, format azure_llm_trace), together: a run with agent traces must not block the billing
sources beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from aispend_cli import aispend

SWE = "agent-traces/swe-agent-gpt4"
TAU = "agent-traces/tau-bench_gpt-4o-airline.json"
LEGACY_CUR = "billing/aws-cur-legacy-csv/sample-anonymous-aws-export-dataset.csv"
FOCUS_SAMPLE = "focus/official-FOCUS-1.0/focus_sample.csv"
FOCUS_FLEX = "focus/spec-examples-v1.2/commitment_discount_flexibility"
GENTD26 = "gpu-traces/alibaba-gentd26"
AZURE_LLM = "gpu-traces/azure-llm-inference-2023"
# The Azure trace names no model and no server: the source's constants say what to call them.
AZURE_LLM_MODEL, AZURE_LLM_HOST = "azure-llm-unnamed", "azure-llm-trace"
# The GenTD26 trace's anonymised times fall on 2022-09-11/12, the spec examples are dated 2023-01,
# the legacy CUR 2023-11, the Azure LLM inference trace 2023-11-16 18:15–19:14, the FOCUS sample
# 2024-09/10; the agent runs carry no dates (started_at) and the gateway log is dated inside the window.
REAL_START, REAL_END = "2022-09-11", "2024-10-31"

# A LiteLLM SpendLogs export (JSON lines): a failed attempt and a retry of one session, and a
# request without a session. gpt-4o at genai-prices' $2.50 input / $1.25 cached / $10 output per 1M.
LITELLM = [
    {"request_id": "chatcmpl-1", "call_type": "acompletion", "spend": 0.0, "prompt_tokens": 0, "completion_tokens": 0,
     "total_tokens": 0, "startTime": "2024-06-01 09:00:00", "endTime": "2024-06-01 09:00:30", "model": "gpt-4o",
     "custom_llm_provider": "openai", "team_id": "support", "session_id": "sess-1", "status": "failure",
     "metadata": {}},
    # 1200 input incl. 800 cached: 400 × 2.5 + 800 × 1.25 + 50 × 10 = $0.0025; LiteLLM said 0.00275
    {"request_id": "chatcmpl-2", "call_type": "acompletion", "spend": 0.00275, "prompt_tokens": 1200,
     "completion_tokens": 50, "total_tokens": 1250, "startTime": "2024-06-01 09:00:31",
     "endTime": "2024-06-01 09:00:33", "model": "gpt-4o", "custom_llm_provider": "openai", "team_id": "support",
     "session_id": "sess-1", "status": "success",
     "metadata": {"usage_object": {"prompt_tokens": 1200, "completion_tokens": 50,
                                   "prompt_tokens_details": {"cached_tokens": 800}}}},
    # no session: the request is its own task
    {"request_id": "chatcmpl-3", "call_type": "acompletion", "spend": 0.0002, "prompt_tokens": 40,
     "completion_tokens": 10, "total_tokens": 50, "startTime": "2024-06-01 10:00:00", "endTime": "2024-06-01 10:00:01",
     "model": "gpt-4o", "custom_llm_provider": "openai", "session_id": None, "status": "success", "metadata": {}},
]


@dataclass
class PublishedRun:
    home: Path
    config: Path
    output: str

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse" / "aispend.duckdb"

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        con.execute("set TimeZone = 'UTC'")
        return con


def run_config(home: Path, name: str, start: str, end: str, sources: list[str]) -> PublishedRun:
    """Write `<home>/../<name>.yaml` with `sources` (YAML flow mappings), `aispend run` it; fail the
    test with the command's output unless it published."""
    config = home.parent / f"{name}.yaml"
    config.write_text(f'start_date: "{start}"\nsources:\n' + "".join(f"  - {s}\n" for s in sources))
    res = aispend("run", "--config", str(config), "--end", end, home=home)
    if res.returncode != 0 or not (home / "warehouse" / "aispend.duckdb").is_file():
        pytest.fail(f"aispend run {config} failed ({res.returncode}):\n{res.stdout[-4000:]}\n{res.stderr[-6000:]}")
    return PublishedRun(home, config, res.stdout + res.stderr)
