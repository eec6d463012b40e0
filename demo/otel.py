"""OpenTelemetry GenAI traces as OTLP JSON lines (collector `file` exporter format).

Each line is one ExportTraceServiceRequest holding one trace (one user task):
``{"resourceSpans":[{"resource":{...},"scopeSpans":[{"scope":{...},"spans":[...]}]}]}``
with OTLP/JSON encoding rules: ids as lowercase hex, 64-bit integers (timestamps, intValue) as
strings, `kind` and `status.code` as integers. One file per UTC day: ``traces-YYYY-MM-DD.jsonl``.

Attributes follow the OTel GenAI semantic conventions: spans `invoke_agent <agent>` (root of an
agent task), `chat <model>` and `execute_tool <tool>`; `gen_ai.usage.input_tokens` includes
cached tokens, `gen_ai.usage.cache_read.input_tokens` and (Anthropic) `gen_ai.usage.
cache_creation.input_tokens` break it down. One-call chats are a single `chat` root span.

Agent loops re-send the growing context each step: call i's input = first + i x growth, where
growth (tool results + model turns appended) is 15-60 % of the first prompt. ~2 % of chat calls
fail with a 429 and are retried (status ERROR, no usage). Prompt caching: Anthropic calls read
the previous step's prompt from cache and write 90 % of the new part; OpenAI calls get
automatic caching of the previous prompt in 128-token blocks. The injected runaway task
(2026-11-10, support-triage, 150 calls) rewrites its scratchpad every step, so it gets no
cache hits - which is why it is expensive as well as long.

The same calls are folded into the OpenAI/Anthropic usage (see `llm_apis.py`), so API usage
>= traced usage for every day x project x model.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from ._common import (
    APP_TEAM,
    PROVIDER_OF_MODEL,
    RUNAWAY_CALLS,
    RUNAWAY_DAY,
    Window,
    child_rng,
    day_start,
    diurnal,
    llm_cost,
    weekday_factor,
)

APPS = {
    # app: (tasks per weekday, agent name or None, [(model, weight)], (min, max) calls)
    "doc-search": (55, None, [("gpt-4o-mini-2024-07-18", 0.7), ("gpt-4.1-2025-04-14", 0.3)], (1, 1)),
    "internal-chat": (35, None, [("gpt-4o-2024-08-06", 1.0)], (1, 1)),
    "support-agent": (40, "support-triage", [("claude-sonnet-4-5-20250929", 0.75),
                                             ("claude-haiku-4-5-20251001", 0.25)], (5, 40)),
    "eval-harness": (20, "eval-runner", [("gpt-4.1-2025-04-14", 0.5),
                                         ("claude-sonnet-4-5-20250929", 0.5)], (5, 25)),
}
TOOLS = {
    "support-triage": ["search_kb", "get_ticket", "get_customer", "update_ticket", "run_sql"],
    "eval-runner": ["load_case", "run_python", "grade_answer", "fetch_doc"],
}
SCOPE = {"name": "aispend.demo.genai", "version": "0.3.0"}
KIND_INTERNAL, KIND_CLIENT = 1, 3
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2


def _s(k: str, v: str) -> dict:
    return {"key": k, "value": {"stringValue": v}}


def _i(k: str, v: int) -> dict:
    return {"key": k, "value": {"intValue": str(int(v))}}


class _Task:
    """Builds the spans of one trace and records each LLM call's tokens."""

    def __init__(self, rng: np.random.Generator, app: str, t_ns: int, usage: dict) -> None:
        self.rng, self.app, self.t, self.usage = rng, app, t_ns, usage
        self.trace_id = rng.bytes(16).hex()
        self.conv_id = "conv_" + rng.bytes(12).hex()
        self.spans: list[dict] = []
        self.retry_p = 0.02
        self.caching = True
        self.stats = {"chat_calls": 0, "tool_calls": 0, "retries": 0, "input_tokens": 0,
                      "output_tokens": 0, "first_call_input_tokens": None, "cost_usd": 0.0}

    def span(self, name: str, kind: int, start: int, end: int, attrs: list[dict],
             parent: str | None, status: int = STATUS_UNSET, message: str | None = None) -> str:
        sid = self.rng.bytes(8).hex()
        sp = {"traceId": self.trace_id, "spanId": sid, "parentSpanId": parent or "",
              "name": name, "kind": kind, "startTimeUnixNano": str(start),
              "endTimeUnixNano": str(end), "attributes": attrs,
              "status": {"code": status} if message is None else {"code": status,
                                                                    "message": message}}
        self.spans.append(sp)
        return sid

    def chat(self, model: str, agent: str | None, parent: str | None, input_tokens: int,
             prev_input: int, output_tokens: int) -> None:
        rng = self.rng
        provider = PROVIDER_OF_MODEL[model]
        base = [_s("gen_ai.operation.name", "chat"), _s("gen_ai.provider.name", provider),
                _s("gen_ai.request.model", model), _s("gen_ai.conversation.id", self.conv_id)]
        if agent:
            base.append(_s("gen_ai.agent.name", agent))
        if rng.random() < self.retry_p:  # throttled, retried after a short back-off
            dur = int(rng.uniform(0.05, 0.4) * 1e9)
            err = "rate_limit_error" if provider == "anthropic" else "429"
            self.span(f"chat {model}", KIND_CLIENT, self.t, self.t + dur,
                      base + [_s("error.type", err)], parent, STATUS_ERROR, "rate limited")
            self.t += dur + int(rng.uniform(0.5, 2.0) * 1e9)
            self.stats["retries"] += 1
        # prompt caching: the previous step's prompt is the cached prefix of this one
        if not self.caching:
            cache_read = cache_write = 0
        elif provider == "anthropic":
            cache_read = prev_input
            cache_write = int(0.9 * (input_tokens - cache_read))
        else:  # OpenAI automatic caching: 128-token blocks, prompts >= 1024 tokens
            cache_read = (prev_input // 128) * 128 if prev_input >= 1024 else 0
            cache_write = 0
        uncached = input_tokens - cache_read - cache_write
        dur = int((0.35 + output_tokens / 70.0 + input_tokens / 25000.0)
                  * rng.lognormal(0, 0.15) * 1e9)
        attrs = base + [
            _s("gen_ai.response.model", model),
            _s("gen_ai.response.id", ("msg_" if provider == "anthropic" else "chatcmpl-")
               + rng.bytes(10).hex()),
            _i("gen_ai.usage.input_tokens", input_tokens),
            _i("gen_ai.usage.output_tokens", output_tokens),
            _i("gen_ai.usage.cache_read.input_tokens", cache_read),
        ]
        if provider == "anthropic":
            attrs.append(_i("gen_ai.usage.cache_creation.input_tokens", cache_write))
        self.span(f"chat {model}", KIND_CLIENT, self.t, self.t + dur, attrs, parent, STATUS_OK)
        day = (day_start(date(1970, 1, 1)) + timedelta(microseconds=self.t // 1000)).date()
        u = self.usage[(day, provider, self.app, model)]
        u[0] += uncached
        u[1] += cache_read
        u[2] += cache_write
        u[3] += output_tokens
        u[4] += 1
        self.t += dur
        st = self.stats
        st["chat_calls"] += 1
        st["input_tokens"] += input_tokens
        st["output_tokens"] += output_tokens
        if st["first_call_input_tokens"] is None:
            st["first_call_input_tokens"] = input_tokens
        st["cost_usd"] += llm_cost(model, uncached_input=uncached, cache_read=cache_read,
                                   cache_write=cache_write, output=output_tokens)

    def tool(self, agent: str, parent: str) -> None:
        rng = self.rng
        name = TOOLS[agent][int(rng.integers(len(TOOLS[agent])))]
        dur = int(rng.lognormal(np.log(0.4), 0.8) * 1e9)
        self.span(f"execute_tool {name}", KIND_INTERNAL, self.t, self.t + dur,
                  [_s("gen_ai.operation.name", "execute_tool"), _s("gen_ai.tool.name", name),
                   _s("gen_ai.tool.call.id", "call_" + rng.bytes(8).hex()),
                   _s("gen_ai.conversation.id", self.conv_id)], parent, STATUS_OK)
        self.t += dur
        self.stats["tool_calls"] += 1

    def agent_loop(self, agent: str, model: str, calls: int, first: int, growth: float) -> None:
        rng = self.rng
        root_start = self.t
        # root span placeholder: appended first, end time patched after the children
        root_id = self.span(f"invoke_agent {agent}", KIND_INTERNAL, root_start, root_start,
                            [_s("gen_ai.operation.name", "invoke_agent"),
                             _s("gen_ai.agent.name", agent),
                             _s("gen_ai.provider.name", PROVIDER_OF_MODEL[model]),
                             _s("gen_ai.request.model", model),
                             _s("gen_ai.conversation.id", self.conv_id)], None, STATUS_OK)
        self.t += int(rng.uniform(0.005, 0.05) * 1e9)
        prev = 0
        for i in range(calls):
            inp = int(first + i * growth + rng.integers(0, 64))
            out = int(np.clip(rng.lognormal(np.log(220), 0.5), 20, 4000))
            self.chat(model, agent, root_id, inp, prev, out)
            prev = inp
            if i < calls - 1:
                self.tool(agent, root_id)
        self.spans[0]["endTimeUnixNano"] = str(self.t + int(0.01 * 1e9))

    def line(self) -> str:
        team = APP_TEAM[self.app]
        req = {"resourceSpans": [{
            "resource": {"attributes": [
                _s("service.name", self.app), _s("service.version", "2026.11.0"),
                _s("team", team), _s("deployment.environment.name", "prod"),
                _s("telemetry.sdk.language", "python"), _s("telemetry.sdk.name", "opentelemetry"),
            ]},
            "scopeSpans": [{"scope": SCOPE, "spans": self.spans}],
        }]}
        return json.dumps(req, separators=(",", ":"))


def build_and_write(seed: int, window: Window, root: Path) -> tuple[dict, dict, dict]:
    """Write one traces file per day.

    Returns (usage, counts, runaway) where usage maps (day, provider, app, model) ->
    [uncached_input, cache_read, cache_write, output, requests] of the traced calls.
    """
    rng = child_rng(seed, "otel")
    root.mkdir(parents=True, exist_ok=True)
    usage: dict = defaultdict(lambda: [0, 0, 0, 0, 0])
    counts = {"files": 0, "traces": 0, "spans": 0}
    runaway: dict = {}
    shape = diurnal(np.arange(24) + 0.5)
    shape = shape / shape.sum()
    for d in window.days:
        t_day = int(day_start(d).timestamp()) * 10**9
        tasks: list[tuple[int, str]] = []
        for app, (per_day, _agent, _models, _calls) in APPS.items():
            n = int(rng.poisson(per_day * weekday_factor(d)))
            hrs = rng.choice(24, size=n, p=shape)
            secs = (hrs * 3600 + rng.uniform(0, 3600, n)) * 1e9
            tasks += [(t_day + int(s), app) for s in secs]
        tasks.sort()
        lines = []
        for t_ns, app in tasks:
            per_day, agent, models, (lo, hi) = APPS[app]
            names, weights = zip(*models)
            model = names[int(rng.choice(len(names), p=weights))]
            task = _Task(rng, app, t_ns, usage)
            if agent is None:  # single-call chat: one `chat` root span (no retry spans)
                task.retry_p = 0.0
                first = int(np.clip(rng.lognormal(np.log(1800), 0.6), 120, 30000))
                prev = 1024 if rng.random() < 0.5 else 0  # shared system prompt prefix cached
                out = int(np.clip(rng.lognormal(np.log(380), 0.6), 10, 4000))
                task.chat(model, None, None, first, min(prev, first), out)
            else:
                calls = int(np.clip(lo + rng.gamma(2.0, 5.0), lo, hi))
                first = int(np.clip(rng.lognormal(np.log(2600), 0.4), 600, 12000))
                growth = first * rng.uniform(0.15, 0.6)
                task.agent_loop(agent, model, calls, first, growth)
            lines.append(task.line())
            counts["spans"] += len(task.spans)
        if d == RUNAWAY_DAY:
            t_ns = t_day + (14 * 3600 + 5 * 60) * 10**9
            task = _Task(rng, "support-agent", t_ns, usage)
            task.retry_p = 0.0  # keep the expected call count exact
            task.caching = False  # it rewrites its scratchpad each step: no cache hits
            model = "claude-sonnet-4-5-20250929"
            task.agent_loop("support-triage", model, RUNAWAY_CALLS, 2400, 1150.0)
            lines.append(task.line())
            counts["spans"] += len(task.spans)
            st = task.stats
            runaway = {
                "day": d.isoformat(), "trace_id": task.trace_id, "task_id": task.trace_id,
                "conversation_id": task.conv_id, "agent": "support-triage",
                "application": "support-agent", "team": "support", "model": model,
                "llm_calls": st["chat_calls"], "retries": st["retries"],
                "tool_calls": st["tool_calls"],
                "first_call_input_tokens": st["first_call_input_tokens"],
                "input_tokens": st["input_tokens"], "output_tokens": st["output_tokens"],
                "input_amplification": round(st["input_tokens"] / st["first_call_input_tokens"], 2),
                "cost_usd": round(st["cost_usd"], 4),
                "started_at": f"{d.isoformat()}T14:05:00Z",
            }
        (root / f"traces-{d.isoformat()}.jsonl").write_text("".join(x + "\n" for x in lines))
        counts["files"] += 1
        counts["traces"] += len(lines)
    return dict(usage), counts, runaway
