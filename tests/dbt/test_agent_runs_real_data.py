"""Real agent runs (shared data) and a LiteLLM export, loaded by `aispend run` (conftest.real_run)
into fct_llm_calls, fct_cost_per_query and fct_agent_loops of the published warehouse, priced by
the genai-prices catalogue as of each call.

SWE-agent records api_calls / tokens / instance_cost per run: the two GPT-4 runs priced at
$10 / $30 per million input / output tokens must equal their recorded cost to the cent (they are
exact), the gpt-4o run (priced $2.50 / $10) must not and is flagged. tau-bench: 200 runs
(50 tasks × 4 trials), LLM calls per task median 11, range 2–30.
"""
from __future__ import annotations

import json
import statistics
from decimal import Decimal

import pytest

from real_data import SWE, TAU


@pytest.fixture(scope="module")
def con(real_run):
    c = real_run.connect()
    yield c
    c.close()


def test_transcripts_load_beside_billing_in_one_run(con, real_run):
    """The run that carried the agent transcripts published, billing sources included: before the
    raw suite type-checked list columns, `prompt_chars` (list<int64>) failed 'type of prompt_chars'
    on every row, nothing of the run was published and the legacy CUR beside it was blocked."""
    assert con.execute("select log_format, count(*) from stg_agent_trajectories__calls group by 1 order by 1"
                       ).fetchall() == [("openai_chat", 2454), ("swe_agent", 3)]
    assert con.execute("select count(*), sum(BilledCost) from focus_costs where x_source = 'aws_cur'").fetchone() == (
        1281, Decimal("1.6823086974"))
    assert "raw_suite" not in real_run.output and "failed" not in real_run.output


def test_swe_agent_calls_and_cost_reconcile_to_recorded(con):
    rows = {r[0]: r[1:] for r in con.execute(
        "select task_id, calls, input_tokens, output_tokens, cost_usd, recorded_cost_usd, is_recorded_cost_mismatch "
        "from fct_cost_per_query where source_table = 'agent_llm_calls' and task_id not like '%/task-%'").fetchall()}
    assert {k: v[0] for k, v in rows.items()} == {"pydicom__pydicom-1458": 12, "swe-agent__test-repo-i1": 5,
                                                  "6e44b9__sweagenttestrepo-1c2844": 5}
    # 122,612 × $10/M + 1,369 × $30/M = 1.26719; 52,861 × 10 + 326 × 30 per M = 0.53839
    for task, cost in (("pydicom__pydicom-1458", "1.26719"), ("swe-agent__test-repo-i1", "0.53839")):
        calls, _, _, computed, recorded, mismatch = rows[task]
        assert round(computed, 2) == round(recorded, 2) == round(Decimal(cost), 2)
        assert computed == Decimal(cost) and mismatch is False
    # gpt-4o at list price: 7,141 × 2.5 + 243 × 10 per M = 0.0202825 ≠ recorded 0.01952 → flagged
    _, _, _, computed, recorded, mismatch = rows["6e44b9__sweagenttestrepo-1c2844"]
    assert computed == Decimal("0.0202825") and round(recorded, 5) == Decimal("0.01952") and mismatch is True
    loops = con.execute("select count(*), sum(llm_calls), sum(tool_calls), count(first_call_input_tokens), "
                        "bool_and(amplification_basis = 'prompt_chars'), bool_or(is_runaway) from fct_agent_loops "
                        "where agent = 'swe-agent'").fetchone()
    # totals only: no per-call tokens (null, not a fake figure); the ratios come from the histories
    assert loops == (3, 22, 22, 0, True, False)


def test_swe_agent_amplification_from_histories(con, shared_data):
    rows = {r[0]: r[1:] for r in con.execute(
        "select task_id, llm_calls, input_amplification, resend_ratio from fct_agent_loops "
        "where agent = 'swe-agent'").fetchall()}
    # hand-check, swe-agent__test-repo-i1: its history is system, 2 × user, then 5 assistant turns
    # with one observation between each; the prompt of call k = the characters of every message
    # before the k-th assistant message: 39,570, 40,226, 40,763, 41,520, 41,926 (Σ 204,005)
    doc = json.loads((shared_data / SWE / "swe-agent__test-repo-i1.traj").read_text())
    sizes, total = [], 0
    for m in doc["history"]:
        if m["role"] == "assistant":
            sizes.append(total)
        total += len(m["content"])
    assert sizes == [39570, 40226, 40763, 41520, 41926]
    calls, amp, resend = rows["swe-agent__test-repo-i1"]
    assert calls == 5
    assert amp == pytest.approx(204005 / 39570)      # 5.156: Σ input ÷ first call's input
    assert resend == pytest.approx(204005 / 41926)   # 4.866: Σ input ÷ final call's input
    # pydicom: 12 prompts from 28,856 to 56,319 chars, Σ 497,765
    calls, amp, resend = rows["pydicom__pydicom-1458"]
    assert calls == 12
    assert amp == pytest.approx(497765 / 28856) and resend == pytest.approx(497765 / 56319)
    # the gpt-4o run's history stops before its 5th (submit) response: that call's prompt is the
    # whole history (7,466 chars); prompts 5,156 … 7,466, Σ 31,605
    calls, amp, resend = rows["6e44b9__sweagenttestrepo-1c2844"]
    assert calls == 5
    assert amp == pytest.approx(31605 / 5156) and resend == pytest.approx(31605 / 7466)


def test_tau_bench_calls_per_task(con, shared_data):
    calls = [r[0] for r in con.execute(
        "select llm_calls from fct_agent_loops where agent = 'tau-bench-airline'").fetchall()]
    assert len(calls) == 200
    assert (min(calls), statistics.median(calls), max(calls)) == (2, 11, 30)
    assert con.execute("select median(calls), min(calls), max(calls), count(*) from fct_cost_per_query "
                       "where agent = 'tau-bench-airline'").fetchone() == (11, 2, 30, 200)
    runs = json.loads((shared_data / TAU).read_text())
    tools, reward = con.execute("select sum(tool_calls), sum(outcome_reward) from fct_agent_loops "
                                "where agent = 'tau-bench-airline'").fetchone()
    assert tools == sum(len(m.get("tool_calls") or []) for r in runs for m in r["traj"] if m["role"] == "assistant")
    assert reward == sum(r["reward"] for r in runs)
    # amplification from the transcripts' prompt characters (content + tool-call arguments)
    amps, resends = [], []
    for r in runs:
        sizes, total = [], 0
        for m in r["traj"]:
            if m["role"] == "assistant":
                sizes.append(total)
            total += len(m.get("content") or "") + sum(len(c["function"]["name"]) + len(c["function"]["arguments"])
                                                       for c in m.get("tool_calls") or [])
        amps.append(sum(sizes) / sizes[0])
        resends.append(sum(sizes) / sizes[-1])
    got = con.execute("select median(input_amplification), max(input_amplification), median(resend_ratio), "
                      "max(resend_ratio), count(*) filter (where amplification_basis = 'prompt_chars') "
                      "from fct_agent_loops where agent = 'tau-bench-airline'").fetchone()
    assert got[:4] == pytest.approx((statistics.median(amps), max(amps), statistics.median(resends), max(resends)))
    assert got[4] == 200
    assert round(got[2], 2) == 8.49 and round(got[1], 1) == 81.2
    daily = con.execute("select tasks, llm_calls, p50_llm_calls, max_llm_calls, max_input_amplification "
                        "from agg_agent_loops_daily where agent = 'tau-bench-airline'").fetchall()
    assert len(daily) == 1 and daily[0][:4] == (200, 2454, 11.0, 30)
    assert daily[0][4] == pytest.approx(max(amps))
    # transcripts record no token usage: every call is priced on tokens estimated from its
    # characters, and says so (test_tau_bench_success_rate_and_cost_per_resolved_task)
    assert con.execute("select count(*), count(cost_usd), bool_or(is_unpriced), min(price_source) "
                       "from fct_llm_calls where agent = 'tau-bench-airline'").fetchone() == (
        2454, 2454, False, "estimated_tokens")


def test_litellm_calls_sessions_and_recorded_spend(con):
    rows = con.execute("select call_id, task_id, status, input_tokens, cached_input_tokens, cost_usd, "
                       "recorded_cost_usd, is_recorded_cost_mismatch, team from fct_llm_calls "
                       "where source_table = 'litellm_spend_logs' order by call_id").fetchall()
    assert rows == [
        ("chatcmpl-1", "sess-1", "error", 0, 0, Decimal("0E-10"), Decimal("0E-10"), False, "support"),
        ("chatcmpl-2", "sess-1", "ok", 1200, 800, Decimal("0.0025000000"), Decimal("0.0027500000"), True, "support"),
        ("chatcmpl-3", "chatcmpl-3", "ok", 40, 0, Decimal("0.0002000000"), Decimal("0.0002000000"), False, None),
    ]
    assert con.execute("select task_id, calls, cost_usd from fct_cost_per_query "
                       "where source_table = 'litellm_spend_logs' order by 1").fetchall() == [
        ("chatcmpl-3", 1, Decimal("0.0002000000")), ("sess-1", 2, Decimal("0.0025000000"))]


def test_tau_bench_success_rate_and_cost_per_resolved_task(con, shared_data):
    """reward 1 = resolved: 84 of 200 runs. The transcripts carry no token usage, so each call's
    tokens are estimated from its characters (÷ 4, threshold transcript_chars_per_token) and priced
    at gpt-4o's $2.50 / $10 per M, flagged price_source 'estimated_tokens'. Computed here from the
    file independently of the connector: Σ over the 2,454 calls of ceil(prompt chars / 4) ×
    2.5 + ceil(response chars / 4) × 10 per M, then ÷ the 84 resolved runs."""
    runs = json.loads((shared_data / TAU).read_text())
    resolved = sum(1 for r in runs if r["reward"] == 1)
    assert resolved == 84

    def chars(msg):
        content = msg.get("content")
        n = sum(len(p.get("text") or "") for p in content) if isinstance(content, list) else len(content or "")
        return n + sum(len((c.get("function") or {}).get("name") or "")
                       + len((c.get("function") or {}).get("arguments") or "")
                       for c in msg.get("tool_calls") or [])

    total, in_tok, out_tok = Decimal(0), 0, 0
    for r in runs:
        sent = 0
        for msg in r["traj"]:
            if msg.get("role") == "assistant":
                i, o = -(-sent // 4), -(-chars(msg) // 4)
                in_tok, out_tok = in_tok + i, out_tok + o
                total += (Decimal(i) * Decimal("2.5") + Decimal(o) * 10) / Decimal(10**6)
            sent += chars(msg)
    assert (in_tok, out_tok, total) == (6_579_266, 142_468, Decimal("17.8728450"))
    q = con.execute("select count(*), count(is_success), count(*) filter (where is_success), "
                    "min(outcome_source), min(query_key_source), count(cost_usd), sum(cost_usd), "
                    "sum(input_tokens), sum(output_tokens) "
                    "from fct_cost_per_query where agent = 'tau-bench-airline'").fetchone()
    assert q == (200, 200, 84, "reward", "recorded_run", 200, total, in_tok, out_tok)
    assert con.execute("select distinct price_source from fct_llm_calls "
                       "where agent = 'tau-bench-airline'").fetchall() == [("estimated_tokens",)]
    agg = con.execute("select sum(queries), sum(queries_with_outcome), sum(successful_queries), "
                      "sum(priced_queries), max(cost_per_successful_task_usd) from agg_cost_per_query_daily "
                      "where model = 'gpt-4o-2024-08-06'").fetchone()
    assert agg[:4] == (200, 200, 84, 200)
    assert round(agg[4], 6) == round(total / 84, 6) == Decimal("0.212772")
    assert con.execute("select success_rate from agg_cost_per_query_daily "
                       "where model = 'gpt-4o-2024-08-06'").fetchone()[0] == pytest.approx(0.42)


def test_litellm_query_keys(con):
    assert con.execute("select task_id, query_key_source from fct_cost_per_query "
                       "where source_table = 'litellm_spend_logs' order by 1").fetchall() == [
        ("chatcmpl-3", "request"), ("sess-1", "gateway_session")]
