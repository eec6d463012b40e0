"""Runaway flags on real agent runs: the tau-bench airline transcripts (200 GPT-4o runs, 50 tasks × 4
trials, shared data) loaded the way a user loads them — `aispend run --config` with an
`agent_trajectories` source (the session-wide real run, conftest.real_run) — and fct_agent_loops'
calibrated flags checked against the transcripts.

The fixed bar this replaces (input amplification ≥ 20) flagged 81 of the 200 runs (41 %). Calibrated
per agent (max(floor, 1.5 × the agent's p95 of each metric)), the flags mark 4 runs (2 %): the runs
whose context grew most, every one of them a 30-step run that hit tau-bench's step cap and failed.
(Each run's input amplification from its transcript is checked in test_agent_runs_real_data.py.)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from real_data import TAU

AGENT = "tau-bench-airline"  # the agent the session-wide real run (conftest.real_run) names the transcripts


@pytest.fixture(scope="module")
def con(real_run):
    # flags are calibrated per agent: the other sources of the shared run do not move this agent's bars
    c = real_run.connect()
    yield c
    c.close()


def _runs(shared_data: Path) -> dict[str, tuple[int, float]]:
    """Each transcript's (LLM calls = assistant turns, reward), by the task id the connector gives it."""
    return {f"tau-bench_gpt-4o-airline/task-{r['task_id']}/trial-{r['trial']}":
            (sum(m["role"] == "assistant" for m in r["traj"]), r["reward"])
            for r in json.loads((shared_data / TAU).read_text())}


def test_runaway_flags_are_a_small_tail_of_tau_bench(con, shared_data):
    runs = _runs(shared_data)
    amps = dict(con.execute("select task_id, input_amplification from fct_agent_loops where agent = ?",
                            [AGENT]).fetchall())
    assert len(amps) == len(runs) == 200 and None not in amps.values()
    # the bar from the runs' own distribution: 1.5 × p95 (linear interpolation = percentile_cont), floor 50
    bar = max(50.0, 1.5 * float(np.percentile(list(amps.values()), 95)))
    assert round(bar, 1) == 77.7
    expected = sorted(t for t, a in amps.items() if a >= bar)
    assert len(expected) == 4

    basis, tasks, amp_bar, calls_bar, cost_bar = con.execute(
        "select any_value(runaway_threshold_basis), any_value(agent_tasks), "
        "any_value(runaway_input_amplification_threshold), "
        "any_value(runaway_llm_calls_threshold), any_value(runaway_cost_usd_threshold) from fct_agent_loops "
        "where agent = ?", [AGENT]).fetchone()
    assert (basis, tasks) == ("agent_p95", 200)
    assert amp_bar == pytest.approx(bar, abs=1e-3)
    assert (calls_bar, float(cost_bar)) == (50, 5.0)     # floors: 1.5 × p95 (23.1 calls, $0.22) is below them

    flagged = con.execute("select task_id, is_runaway_calls, is_runaway_cost, is_runaway_input_amplification, "
                          "is_runaway_cost_amplification from fct_agent_loops "
                          "where agent = ? and is_runaway order by task_id", [AGENT]).fetchall()
    assert [r[0] for r in flagged] == expected
    assert all(r[1:] == (False, False, True, False) for r in flagged)
    # every flagged run hit tau-bench's 30-step cap and failed the task (the transcripts say so);
    # 7 of the 200 runs hit the cap: the flag marks the 4 whose context grew most
    assert {runs[t] for t in expected} == {(30, 0.0)}
    assert sum(calls == 30 for calls, _ in runs.values()) == 7
    assert len(flagged) / 200 <= 0.03
    # the fixed bar it replaces flagged 41 % of the same runs
    assert sum(a >= 20 for a in amps.values()) == 81


def test_tau_bench_runaway_reasons_and_daily_share(con):
    top = con.execute("select task_id, runaway_reasons from fct_agent_loops where agent = ? and is_runaway "
                      "order by input_amplification desc limit 1", [AGENT]).fetchone()
    assert top == ("tau-bench_gpt-4o-airline/task-2/trial-1",
                   "input amplification 81.2 ≥ 77.7 (1.5 × tau-bench-airline p95 51.8)")
    # the daily rollup counts the same tail: its amplified spend is the flagged runs' cost
    runaway, amplified, total = con.execute("select sum(runaway_tasks), sum(amplified_cost_usd), sum(total_cost_usd) "
                                            "from agg_agent_loops_daily where agent = ?", [AGENT]).fetchone()
    flagged_cost, all_cost = con.execute("select sum(cost_usd) filter (where is_runaway_amplification), sum(cost_usd) "
                                         "from fct_agent_loops where agent = ?", [AGENT]).fetchone()
    assert runaway == 4 and amplified == flagged_cost and total == all_cost
    assert 0 < amplified / total < 0.1
