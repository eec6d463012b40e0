"""Per-call sources through their ingest assets: LiteLLM SpendLogs (daily) and agent run logs
(per-source snapshot). Bad input fails naming source + file, writes nothing, keeps the old data."""

import json
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from pipelines.definitions import build_definitions

SPEND = [{"request_id": f"r{i}", "call_type": "acompletion", "spend": 0.001, "prompt_tokens": 100,
          "completion_tokens": 10, "total_tokens": 110, "startTime": f"2026-11-10 0{i}:00:00",
          "endTime": f"2026-11-10 0{i}:00:01", "model": "gpt-4o", "custom_llm_provider": "openai",
          "session_id": "s1", "status": "success", "metadata": {}} for i in range(3)]
SWE_RUN = {"trajectory": [{"action": "ls"}, {"action": "submit"}],
           "info": {"exit_status": "submitted", "model_stats": {"api_calls": 2, "tokens_sent": 900,
                                                                "tokens_received": 40, "instance_cost": 0.0102}}}


def _setup(tmp_path: Path, model_option: bool = True) -> tuple[Path, Path]:
    (tmp_path / "gw").mkdir(exist_ok=True)
    (tmp_path / "gw" / "spend.jsonl").write_text("\n".join(json.dumps(r) for r in SPEND) + "\n")
    (tmp_path / "runs").mkdir(exist_ok=True)
    (tmp_path / "runs" / "a.traj").write_text(json.dumps(SWE_RUN))
    model = "    model: gpt-4-1106-preview\n" if model_option else ""
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"""home: {tmp_path / 'home'}
start_date: "2026-11-01"
sources:
  - name: gateway
    type: litellm_logs
    uri: {tmp_path / 'gw'}
  - name: swe
    type: agent_trajectories
    uri: {tmp_path / 'runs'}
    started_at: "2026-11-10"
{model}""")
    return cfg, tmp_path / "home"


def _run(cfg, home, key, partition_key=None):
    defs = build_definitions(str(cfg), str(home))
    return dg.materialize(list(defs.assets), selection=[dg.AssetKey.from_user_string(key)], resources=defs.resources,
                          partition_key=partition_key, raise_on_error=False)


def _failure(res) -> str:
    out = []
    for ev in res.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.event_specific_data.error
            while err is not None:
                out.append(err.message)
                err = err.cause
    return "\n".join(out)


def test_litellm_day_then_bad_line_keeps_previous(tmp_path):
    cfg, home = _setup(tmp_path)
    assert _run(cfg, home, "raw/litellm_spend_logs", "2026-11-10").success
    part = home / "lake" / "raw" / "litellm_spend_logs" / "source=gateway" / "day=2026-11-10"
    assert pq.read_table(next(part.glob("*.parquet"))).column("request_id").to_pylist() == ["r0", "r1", "r2"]
    with (tmp_path / "gw" / "spend.jsonl").open("a") as fh:
        fh.write(json.dumps({**SPEND[0], "request_id": "r9", "prompt_tokens": -7}) + "\n")
    res = _run(cfg, home, "raw/litellm_spend_logs", "2026-11-10")
    assert not res.success
    msg = _failure(res)
    assert "litellm_logs" in msg and "spend.jsonl" in msg and "negative prompt_tokens" in msg
    assert pq.read_table(next(part.glob("*.parquet"))).num_rows == 3


def test_agent_runs_snapshot_and_missing_model(tmp_path):
    cfg, home = _setup(tmp_path)
    assert _run(cfg, home, "raw/agent_llm_calls").success
    part = home / "lake" / "raw" / "agent_llm_calls" / "source=swe" / "snapshot=latest"
    rows = pq.read_table(next(part.glob("*.parquet"))).to_pylist()
    assert [(r["run_id"], r["call_count"], r["input_tokens"], r["model"]) for r in rows] == \
        [("a", 2, 900, "gpt-4-1106-preview")]
    cfg, home = _setup(tmp_path, model_option=False)
    res = _run(cfg, home, "raw/agent_llm_calls")
    assert not res.success
    msg = _failure(res)
    assert "a.traj" in msg and "'model:'" in msg and "previous data kept" in msg
    assert pq.read_table(next(part.glob("*.parquet"))).num_rows == 1
