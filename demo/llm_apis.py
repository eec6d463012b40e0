"""OpenAI and Anthropic organisation usage/cost data, stored for the API emulator.

Usage = the traced calls (OTel, folded in per day x project/workspace x model) + untraced
traffic (batch evaluation jobs, classifiers, services without instrumentation), so the API
always reports at least what the traces show. Costs are derived from that usage at the list
prices in `_common.LLM_PRICES` (genai-prices), batch at 50 %, so usage x price reconciles with
the Costs / cost_report APIs to rounding.

Stored under ``<out>/api/`` as JSON lines, one row per day x natural grain (the emulator
aggregates them into buckets and groups on request):
- ``openai_usage_completions.jsonl``: day, project_id, user_id, api_key_id, model, batch,
  service_tier, input_tokens (incl. cached), input_cached_tokens, output_tokens,
  input_audio_tokens, output_audio_tokens, num_model_requests
- ``openai_costs.jsonl``: day, project_id, line_item, amount_usd
  (line items ``"<model>, input"``, ``"<model>, cached input"``, ``"<model>, output"``, and
  ``"<model>, batch input"`` / ``"<model>, batch output"`` for Batch API traffic)
- ``anthropic_usage_messages.jsonl``: day, api_key_id, workspace_id, model, service_tier,
  context_window, uncached_input_tokens, cache_read_input_tokens,
  cache_creation_ephemeral_5m_input_tokens, cache_creation_ephemeral_1h_input_tokens,
  output_tokens, web_search_requests
- ``anthropic_costs.jsonl``: day, workspace_id, description, cost_type, model, service_tier,
  context_window, token_type, amount_cents (float; served as a decimal string)
- ``anthropic_claude_code.jsonl`` (Claude Code usage report): day, actor_type, email_address /
  api_key_name, customer_type, terminal_type, num_sessions, lines_added, lines_removed, commits,
  pull_requests, model, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
  estimated_cost_cents. Developer tooling billed on its own (not in usage_report/messages), from
  its own random stream so the other datasets do not move.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ._common import (
    ANTHROPIC_WEB_SEARCH_PER_1K,
    ANTHROPIC_WORKSPACE,
    LLM_PRICES,
    OPENAI_BATCH_DISCOUNT,
    OPENAI_PROJECT,
    Window,
    child_rng,
    weekday_factor,
)

OPENAI_KEYS = {p: f"key_{p.removeprefix('proj_')}prod{i}" for i, p in
               enumerate(sorted(OPENAI_PROJECT.values()))}
ANTHROPIC_KEYS = {w: f"apikey_01{w.removeprefix('wrkspc_')}prod" for w in ANTHROPIC_WORKSPACE.values()}
# untraced daily traffic (weekday volume): (project, model, batch, M input, cached share, M output)
OPENAI_BASELINE = [
    ("proj_search", "gpt-4o-mini-2024-07-18", False, 30.0, 0.35, 2.0),
    ("proj_support", "gpt-4o-mini-2024-07-18", False, 8.0, 0.20, 0.5),
    ("proj_research", "gpt-4.1-2025-04-14", True, 40.0, 0.0, 4.0),
    ("proj_platform", "gpt-4o-2024-08-06", False, 5.0, 0.25, 0.6),
]
# untraced, steady around the clock, every day (weekend included): doc-search's document
# enrichment pipeline summarising every new and changed document with gpt-4o. Flat, high-volume
# demand, but a fraction of one 70B-class replica (4 H100): sized in whole replicas it stays
# cheaper on the API (the rented p5 instances are the demo's repatriation candidate).
OPENAI_STEADY = [
    ("proj_search", "gpt-4o-2024-08-06", False, 45.0, 0.0, 4.0),
]
# (workspace, model, service_tier, M input, cache-read share, M output, web searches)
ANTHROPIC_BASELINE = [
    ("wrkspc_support", "claude-haiku-4-5-20251001", "standard", 6.0, 0.30, 0.4, 150),
    ("wrkspc_research", "claude-sonnet-4-5-20250929", "batch", 10.0, 0.0, 1.0, 0),
]
# Claude Code users: (actor_type, email or key name, terminal, weekday sessions, weekend too)
CLAUDE_CODE_ACTORS = [
    ("user_actor", "ana@aispend-demo.example", "vscode", 6, False),
    ("user_actor", "raj@aispend-demo.example", "iTerm.app", 4, False),
    ("user_actor", "li@aispend-demo.example", "cursor", 3, True),
    ("api_actor", "ci-code-review", "non-interactive", 12, True),
]
MODEL_LABEL = {"claude-sonnet-4-5-20250929": "Claude Sonnet 4.5",
               "claude-haiku-4-5-20251001": "Claude Haiku 4.5"}


def build(seed: int, window: Window, traced: dict) -> dict[str, list[dict]]:
    """Build the four datasets from traced usage (see otel.build_and_write) + baselines."""
    rng = child_rng(seed, "llm_apis")
    steady_rng = child_rng(seed, "llm_apis.steady")
    oa: dict = defaultdict(lambda: [0, 0, 0, 0])  # uncached, cached, output, requests
    an: dict = defaultdict(lambda: [0, 0, 0, 0, 0, 0])  # uncached, read, 5m, 1h, out, web
    for (day, provider, app, model), (unc, read, write, out, n) in traced.items():
        if provider == "openai":
            k = (day, OPENAI_PROJECT[app], model, False)
            v = oa[k]
            v[0] += unc + write
            v[1] += read
            v[2] += out
            v[3] += n
        else:
            ws = ANTHROPIC_WORKSPACE[app]
            v = an[(day, ws, model, "standard")]
            v[0] += unc
            v[1] += read
            v[2] += write
            v[4] += out
    for d in window.days:
        wk = weekday_factor(d, weekend=0.3)
        for project, model, batch, m_in, cached, m_out in OPENAI_BASELINE:
            lvl = wk * rng.lognormal(0, 0.15)
            tin = int(m_in * 1e6 * lvl)
            c = int(tin * cached)
            v = oa[(d, project, model, batch)]
            v[0] += tin - c
            v[1] += c
            v[2] += int(m_out * 1e6 * lvl)
            v[3] += int(tin / 2500)
        for project, model, batch, m_in, cached, m_out in OPENAI_STEADY:
            # its own random stream, so adding it shifts no other workload's numbers
            lvl = steady_rng.lognormal(0, 0.05)
            tin = int(m_in * 1e6 * lvl)
            c = int(tin * cached)
            v = oa[(d, project, model, batch)]
            v[0] += tin - c
            v[1] += c
            v[2] += int(m_out * 1e6 * lvl)
            v[3] += int(tin / 4000)
        for ws, model, tier, m_in, read, m_out, web in ANTHROPIC_BASELINE:
            lvl = wk * rng.lognormal(0, 0.15)
            tin = int(m_in * 1e6 * lvl)
            r = int(tin * read)
            v = an[(d, ws, model, tier)]
            w5 = int(tin * 0.05) if tier == "standard" else 0  # batch requests do not cache
            v[0] += tin - r - w5
            v[1] += r
            v[2] += w5
            v[4] += int(m_out * 1e6 * lvl)
            v[5] += int(web * lvl) if web else 0

    ou, oc, au, ac = [], [], [], []
    for (d, project, model, batch), (unc, cached, out, n) in sorted(oa.items()):
        day = d.isoformat()
        ou.append({"day": day, "project_id": project, "user_id": None,
                   "api_key_id": OPENAI_KEYS[project], "model": model, "batch": batch,
                   "service_tier": "batch" if batch else "default",
                   "input_tokens": unc + cached, "input_cached_tokens": cached,
                   "output_tokens": out, "input_audio_tokens": 0, "output_audio_tokens": 0,
                   "num_model_requests": n})
        p = LLM_PRICES[model]
        f = OPENAI_BATCH_DISCOUNT if batch else 1.0
        items = ([(f"{model}, batch input", (unc + cached) * p["input"] * f),
                  (f"{model}, batch output", out * p["output"] * f)] if batch else
                 [(f"{model}, input", unc * p["input"]),
                  (f"{model}, cached input", cached * p["cache_read"]),
                  (f"{model}, output", out * p["output"])])
        for item, usd_m in items:
            if usd_m:
                oc.append({"day": day, "project_id": project, "line_item": item,
                           "amount_usd": round(usd_m / 1e6, 8)})
    for (d, ws, model, tier), (unc, read, w5, w1, out, web) in sorted(an.items()):
        day = d.isoformat()
        au.append({"day": day, "api_key_id": ANTHROPIC_KEYS[ws], "workspace_id": ws,
                   "model": model, "service_tier": tier, "context_window": "0-200k",
                   "uncached_input_tokens": unc, "cache_read_input_tokens": read,
                   "cache_creation_ephemeral_5m_input_tokens": w5,
                   "cache_creation_ephemeral_1h_input_tokens": w1, "output_tokens": out,
                   "web_search_requests": web})
        p = LLM_PRICES[model]
        f = 0.5 if tier == "batch" else 1.0  # Message Batches API: 50 % off
        label = MODEL_LABEL[model]
        for token_type, desc, n, price in (
            ("uncached_input_tokens", "Input Tokens", unc, p["input"]),
            ("output_tokens", "Output Tokens", out, p["output"]),
            ("cache_read_input_tokens", "Input Tokens, Cache Read", read, p["cache_read"]),
            ("cache_creation.ephemeral_5m_input_tokens", "Input Tokens, Cache Write (5m)", w5,
             p["cache_write"]),
            ("cache_creation.ephemeral_1h_input_tokens", "Input Tokens, Cache Write (1h)", w1,
             p["cache_write_1h"]),
        ):
            if n:
                batch = " (Batch)" if tier == "batch" else ""
                ac.append({"day": day, "workspace_id": ws,
                           "description": f"{label} Usage - {desc}{batch}",
                           "cost_type": "tokens", "model": model, "service_tier": tier,
                           "context_window": "0-200k", "token_type": token_type,
                           "amount_cents": round(n * price * f / 1e6 * 100, 6)})
        if web:
            ac.append({"day": day, "workspace_id": ws, "description": "Web Search Usage",
                       "cost_type": "web_search", "model": None, "service_tier": None,
                       "context_window": None, "token_type": None,
                       "amount_cents": round(web / 1000 * ANTHROPIC_WEB_SEARCH_PER_1K * 100, 6)})
    return {"openai_usage_completions": ou, "openai_costs": oc,
            "anthropic_usage_messages": au, "anthropic_costs": ac,
            "anthropic_claude_code": build_claude_code(seed, window)}


def build_claude_code(seed: int, window: Window) -> list[dict]:
    """Claude Code usage per day × actor × model, estimated cost at list prices (cents)."""
    rng = child_rng(seed, "llm_apis.claude_code")
    rows = []
    for d in window.days:
        weekend = d.weekday() >= 5
        for actor_type, name, terminal, sessions, on_weekends in CLAUDE_CODE_ACTORS:
            if weekend and not on_weekends:
                continue
            n = max(1, int(sessions * rng.lognormal(0, 0.3)))
            actor = ({"email_address": name} if actor_type == "user_actor" else {"api_key_name": name})
            # per actor × day (repeated on each model row, as the API's record carries them once)
            core = {"num_sessions": n, "lines_added": int(n * 120 * rng.lognormal(0, 0.4)),
                    "lines_removed": int(n * 40 * rng.lognormal(0, 0.4)),
                    "commits": int(n * 0.6), "pull_requests": int(n * 0.2)}
            for model, share in (("claude-sonnet-4-5-20250929", 0.8), ("claude-haiku-4-5-20251001", 0.2)):
                tin = int(n * 40_000 * share * rng.lognormal(0, 0.2))
                read = int(tin * 6)  # agentic loops re-read their context from the cache
                write = int(tin * 0.5)
                out = int(tin * 0.15)
                p = LLM_PRICES[model]
                cents = (tin * p["input"] + read * p["cache_read"] + write * p["cache_write"]
                         + out * p["output"]) / 1e6 * 100
                rows.append({"day": d.isoformat(), "actor_type": actor_type, **actor,
                             "customer_type": "api", "terminal_type": terminal, **core,
                             "model": model, "input_tokens": tin, "output_tokens": out,
                             "cache_read_tokens": read, "cache_creation_tokens": write,
                             "estimated_cost_cents": round(cents, 2)})
    return rows


def write(api_dir: Path, data: dict[str, list[dict]]) -> dict[str, int]:
    api_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        (api_dir / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))
    return {name: len(rows) for name, rows in data.items()}


def totals(data: dict[str, list[dict]]) -> dict[str, float]:
    return {
        "openai_cost_usd": round(sum(r["amount_usd"] for r in data["openai_costs"]), 2),
        "anthropic_cost_usd": round(sum(r["amount_cents"] for r in data["anthropic_costs"]) / 100, 2),
    }
