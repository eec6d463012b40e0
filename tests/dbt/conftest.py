"""Fixtures of the dbt tests: `real_run`, one `aispend run` over the real reference data (real_data.py)."""
from __future__ import annotations

import json

import pytest

from real_data import (
    AZURE_LLM,
    AZURE_LLM_HOST,
    AZURE_LLM_MODEL,
    FOCUS_FLEX,
    FOCUS_SAMPLE,
    GENTD26,
    LEGACY_CUR,
    LITELLM,
    REAL_END,
    REAL_START,
    SWE,
    TAU,
    PublishedRun,
    run_config,
)


@pytest.fixture(scope="session")
def real_run(shared_data, tmp_path_factory) -> PublishedRun:
    root = tmp_path_factory.mktemp("real_data")
    gateway = root / "spend.jsonl"
    gateway.write_text("\n".join(json.dumps(r) for r in LITELLM) + "\n")
    d = shared_data
    return run_config(root / "home", "aispend", REAL_START, REAL_END, [
        f"{{name: tau-bench, type: agent_trajectories, uri: '{d / TAU}', model: gpt-4o-2024-08-06, "
        f"agent: tau-bench-airline, started_at: '2024-06-01'}}",
        f"{{name: swe-agent, type: agent_trajectories, uri: '{d / SWE}', model: gpt-4-1106-preview, "
        f"started_at: '2024-06-01'}}",
        f"{{name: gateway, type: litellm_logs, uri: '{gateway}'}}",
        f"{{name: legacy, type: aws_cur_legacy, uri: '{d / LEGACY_CUR}'}}",
        f"{{name: focus-sample, type: focus_files, uri: '{d / FOCUS_SAMPLE}'}}",
        # the spec's examples name no currency: the source option says which (recorded per row)
        f"{{name: spec-examples, type: focus_files, uri: '{d / FOCUS_FLEX}', billing_currency: USD}}",
        f"{{name: gentd26, type: gpu_telemetry, uri: '{d / GENTD26}', format: alibaba_gentd26}}",
        f"{{name: azure-llm, type: self_hosted_requests, uri: '{d / AZURE_LLM}', format: azure_llm_trace, "
        f"constants: {{model: {AZURE_LLM_MODEL}, host: {AZURE_LLM_HOST}}}}}",
    ])
