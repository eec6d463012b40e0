"""Agent run logs: the three real SWE-agent runs and the real tau-bench transcripts (shared data),
plus small hand-made files for the error cases."""

import json
import statistics
from collections import Counter

import pytest

from connectors import agent_trajectories as at
from connectors.errors import SourceError

SWE = "agent-traces/swe-agent-gpt4"
TAU = "agent-traces/tau-bench_gpt-4o-airline.json"


def test_swe_agent_runs_are_one_aggregate_row_each(shared_data):
    t = at.read_runs(str(shared_data / SWE), {"model": "gpt-4-1106-preview", "started_at": "2024-06-01"})
    rows = {r["run_id"]: r for r in t.to_pylist()}
    assert set(rows) == {"pydicom__pydicom-1458", "swe-agent__test-repo-i1", "6e44b9__sweagenttestrepo-1c2844"}
    got = {k: (r["call_count"], r["input_tokens"], r["output_tokens"], r["recorded_cost_usd"], r["model"],
               r["model_from"], r["provider"], r["is_aggregate"]) for k, r in rows.items()}
    assert got["pydicom__pydicom-1458"] == (12, 122612, 1369, 1.26719, "gpt-4-1106-preview", "option", "openai", True)
    assert got["swe-agent__test-repo-i1"] == (5, 52861, 326, 0.53839, "gpt-4-1106-preview", "option", "openai", True)
    # the newer trajectory names its model in replay_config: the file wins over the option
    assert got["6e44b9__sweagenttestrepo-1c2844"][:3] == (5, 7141, 243)
    assert got["6e44b9__sweagenttestrepo-1c2844"][4:6] == ("gpt-4o", "file")
    assert t.schema == at.SCHEMA
    assert str(rows["pydicom__pydicom-1458"]["started_at"]) == "2024-06-01 00:00:00+00:00"
    # one prompt size per call from the history: characters of every message before each response
    assert rows["swe-agent__test-repo-i1"]["prompt_chars"] == [39570, 40226, 40763, 41520, 41926]
    assert len(rows["pydicom__pydicom-1458"]["prompt_chars"]) == 12
    # history cut before the 5th (submit) response: its prompt is the whole history (tool-call
    # arguments counted)
    assert rows["6e44b9__sweagenttestrepo-1c2844"]["prompt_chars"] == [5156, 5678, 6236, 7069, 7466]


def test_prompt_chars_count_text_and_tool_arguments(tmp_path):
    f = tmp_path / "runs.json"
    f.write_text(json.dumps([{"task_id": 1, "reward": 1.0, "traj": [
        {"role": "system", "content": "abcd"},                                  # 4
        {"role": "user", "content": [{"type": "text", "text": "hello"}]},       # 5
        {"role": "assistant", "content": None,
         "tool_calls": [{"function": {"name": "find", "arguments": "{\"q\":1}"}}]},  # 4 + 7
        {"role": "tool", "content": "xy"},                                      # 2
        {"role": "assistant", "content": "done"}]}]))
    t = at.read_runs(str(f), {"model": "gpt-4o"})
    assert t.column("prompt_chars").to_pylist() == [[9], [22]]


def test_tau_bench_one_row_per_assistant_turn(shared_data):
    t = at.read_runs(str(shared_data / TAU), {"model": "gpt-4o-2024-08-06", "agent": "tau-bench-airline"})
    per_run = Counter(t.column("run_id").to_pylist())
    assert len(per_run) == 200  # 50 tasks × 4 trials
    assert len({r.split("/")[1] for r in per_run}) == 50
    calls = sorted(per_run.values())
    assert (min(calls), statistics.median(calls), max(calls)) == (2, 11, 30)
    assert t.num_rows == 2454  # assistant messages in the file
    tools = Counter()
    for run, n in zip(t.column("run_id").to_pylist(), t.column("tool_calls").to_pylist()):
        tools[run] += n
    assert sum(tools.values()) == 1164 and max(tools.values()) == 27
    assert set(t.column("input_tokens").to_pylist()) == {None}  # transcripts record no usage
    # ...but each call's own response size is kept to estimate its output tokens downstream:
    # the first call of task 0 / trial 0 answers with 91 characters; 566,136 over the file
    responses = t.column("response_chars").to_pylist()
    assert all(len(r) == 1 for r in responses) and responses[0] == [91]
    assert sum(r[0] for r in responses) == 566_136
    assert set(t.column("reward").to_pylist()) <= {0.0, 1.0}


def test_missing_model_without_option_names_file_and_option(shared_data):
    with pytest.raises(SourceError) as e:
        at.read_runs(str(shared_data / TAU))
    assert "tau-bench_gpt-4o-airline.json" in str(e.value) and "'model:'" in str(e.value)


def test_missing_model_swe_agent(tmp_path):
    f = tmp_path / "run.traj"
    f.write_text(json.dumps({"trajectory": [], "info": {"model_stats": {"api_calls": 1, "tokens_sent": 5,
                                                                        "tokens_received": 1, "instance_cost": 0.0}}}))
    with pytest.raises(SourceError, match=r"run\.traj.*'model:'"):
        at.read_runs(str(f))


@pytest.mark.parametrize("bad", [-5, 1.5, "12"])
def test_negative_or_non_integer_tokens(tmp_path, bad):
    f = tmp_path / "bad.traj"
    f.write_text(json.dumps({"trajectory": [], "info": {"model_stats": {"api_calls": 1, "tokens_sent": bad}}}))
    with pytest.raises(SourceError, match=r"bad\.traj.*tokens_sent is not a non-negative integer"):
        at.read_runs(str(f), {"model": "gpt-4o"})


def test_unreadable_and_unknown_layout(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(SourceError, match=r"a\.json.*not valid JSON"):
        at.read_runs(str(tmp_path / "a.json"), {"model": "m"})
    (tmp_path / "b.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(SourceError, match=r"b\.json.*neither a SWE-agent"):
        at.read_runs(str(tmp_path / "b.json"), {"model": "m"})
    with pytest.raises(SourceError, match="no trajectory files"):
        at.read_runs(str(tmp_path / "nothing-*.traj"), {"model": "m"})


def test_provider_from_model_name_is_data():
    assert [at.provider_of(m) for m in ("gpt-4o", "claude-sonnet-4-5", "openai/o3-mini", "llama-3", None)] == \
        ["openai", "anthropic", "openai", None, None]
