"""Agent run logs: SWE-agent ``.traj`` files and OpenAI-chat transcripts (tau-bench style).

Grain: one row per LLM call where the log has per-call rows; otherwise one *aggregate* row per
run carrying ``call_count`` calls (SWE-agent ``info.model_stats`` only has run totals:
``api_calls``, ``tokens_sent``, ``tokens_received``, ``instance_cost``). Formats:

- SWE-agent ``.traj`` (a JSON object with ``trajectory`` and ``info.model_stats``): one aggregate
  row; ``instance_cost`` is kept as ``recorded_cost_usd`` so the cost engine can be checked against
  what the agent itself recorded. The model is ``replay_config.agent.model.name`` when present.
- OpenAI-chat transcripts (a JSON list of runs ``{task_id, trial, reward, traj: [messages]}``,
  tau-bench's ``historical_trajectories``): each ``assistant`` message is one LLM call; its
  ``tool_calls`` are counted; ``reward`` is the run's outcome. No token usage is recorded.

``prompt_chars`` keeps the shape of the context the agent re-sent: for each LLM call the row
stands for, in call order, the characters of every message before that call's response (content
text plus tool-call arguments) — SWE-agent's ``history``, a transcript's ``traj``. A SWE-agent
history that ends on an observation while ``trajectory`` has one step more was cut before the last
response: that call's prompt is the whole history. Token counts per call are not recorded, so
amplification ratios are computed on these characters downstream.

Quirks: trajectories carry no timestamps, so every call of a run is dated by the source option
``started_at`` (ISO date/time, UTC) or else by the file's modification time; the model comes from
the file or the source option ``model`` (required when the file does not name one). The provider
is the option ``provider`` or is derived from the model name through ``model_providers.csv``.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from connectors._files import list_files
from connectors.errors import SourceError

SOURCE = "agent_trajectories"
RAW_TABLE = "agent_llm_calls"
TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([
    ("run_id", pa.string()), ("task_name", pa.string()), ("trial", pa.int32()), ("call_seq", pa.int32()),
    ("call_count", pa.int64()), ("is_aggregate", pa.bool_()), ("log_format", pa.string()),
    ("agent", pa.string()), ("model", pa.string()), ("model_from", pa.string()), ("provider", pa.string()),
    ("started_at", TS), ("input_tokens", pa.int64()), ("output_tokens", pa.int64()),
    ("tool_calls", pa.int64()), ("recorded_cost_usd", pa.float64()), ("reward", pa.float64()),
    ("exit_status", pa.string()), ("prompt_chars", pa.list_(pa.int64())), ("response_chars", pa.list_(pa.int64())),
    ("_source_uri", pa.string()),
])
SCHEMAS = {RAW_TABLE: SCHEMA}
# money and count columns under a plausible-range check (connectors.plausible, USAGE limits), a
# record named by IDENTITY (an aggregate .traj row has call_seq null)
PLAUSIBLE = {"cost": ("recorded_cost_usd",), "quantity": ("input_tokens", "output_tokens", "tool_calls", "call_count")}
IDENTITY = ("run_id", "call_seq")

_PROVIDERS_CSV = Path(__file__).with_name("model_providers.csv")


def _provider_prefixes() -> list[tuple[str, str]]:
    with _PROVIDERS_CSV.open(newline="") as fh:
        rows = [(r["prefix"].lower(), r["provider"]) for r in csv.DictReader(fh)]
    return sorted(rows, key=lambda r: -len(r[0]))  # longest prefix wins


def provider_of(model: str | None) -> str | None:
    """The provider a model name belongs to, from ``model_providers.csv`` (None if unknown)."""
    if not model:
        return None
    name = model.lower().split("/")[-1]
    return next((p for prefix, p in _provider_prefixes() if name.startswith(prefix)), None)


def _started_at(options: dict, path: str) -> datetime:
    value = options.get("started_at")
    if value is None:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, tz=timezone.utc)
    try:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(SOURCE, path, f"source option 'started_at' is not an ISO date/time: {value!r}") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _model(file_model: str | None, options: dict, path: str) -> tuple[str, str]:
    if file_model:
        return file_model, "file"
    if options.get("model"):
        return str(options["model"]), "option"
    raise SourceError(SOURCE, path, "the file does not name the model; set the source option 'model:' "
                                    "(e.g. model: gpt-4-1106-preview)")


def _count(value, path: str, field: str) -> int | None:
    # token counts must be whole and non-negative; anything else is a broken log, not data
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise SourceError(SOURCE, path, f"{field} is not a non-negative integer: {value!r}")
    return int(value)


def _message_chars(msg: dict) -> int:
    """Characters a chat message adds to the prompt: its text plus its tool-call arguments."""
    content = msg.get("content")
    if isinstance(content, list):  # content parts: count the text ones
        n = sum(len(p.get("text") or "") for p in content if isinstance(p, dict))
    else:
        n = len(content or "")
    for call in msg.get("tool_calls") or []:
        fn = (call or {}).get("function") or {}
        n += len(fn.get("name") or "") + len(fn.get("arguments") or "")
    return n


def _prompt_chars(messages: list, responses: int | None = None) -> list[int]:
    """Prompt size (characters) of each assistant response in `messages`: all messages before it.

    `responses` (SWE-agent: the trajectory's step count) adds a final call whose response the
    history does not hold: its prompt is the whole history.
    """
    sizes, total = [], 0
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        if msg.get("role") == "assistant":
            sizes.append(total)
        total += _message_chars(msg)
    if responses is not None and len(sizes) < responses and messages and \
            isinstance(messages[-1], dict) and messages[-1].get("role") != "assistant":
        sizes.append(total)
    return sizes


def _swe_agent(doc: dict, path: str, options: dict) -> list[dict]:
    stats = (doc.get("info") or {}).get("model_stats")
    if not isinstance(stats, dict):
        raise SourceError(SOURCE, path, "SWE-agent trajectory without info.model_stats")
    replay = doc.get("replay_config")
    if isinstance(replay, str):  # some SWE-agent versions store the config as a JSON string
        try:
            replay = json.loads(replay)
        except ValueError:
            replay = None
    file_model = (((replay or {}).get("agent") or {}).get("model") or {}).get("name")
    model, model_from = _model(file_model, options, path)
    cost = stats.get("instance_cost")
    return [{
        "run_id": Path(path).stem, "task_name": Path(path).stem, "trial": 0, "call_seq": None,
        "call_count": _count(stats.get("api_calls"), path, "info.model_stats.api_calls"),
        "is_aggregate": True, "log_format": "swe_agent", "agent": options.get("agent") or "swe-agent",
        "model": model, "model_from": model_from,
        "input_tokens": _count(stats.get("tokens_sent"), path, "info.model_stats.tokens_sent"),
        "output_tokens": _count(stats.get("tokens_received"), path, "info.model_stats.tokens_received"),
        # each trajectory step executed one action (a tool call) chosen by one LLM response
        "tool_calls": len(doc.get("trajectory") or []),
        "recorded_cost_usd": None if cost is None else float(cost), "reward": None,
        "exit_status": (doc.get("info") or {}).get("exit_status"),
        "prompt_chars": _prompt_chars(doc.get("history") or [], len(doc.get("trajectory") or [])) or None,
        "response_chars": None,  # tokens are recorded: nothing to estimate
    }]


def _openai_chat(runs: list, path: str, options: dict) -> list[dict]:
    model, model_from = _model(None, options, path)
    stem = Path(path).stem
    rows = []
    for i, run in enumerate(runs):
        if not isinstance(run, dict) or not isinstance(run.get("traj"), list):
            raise SourceError(SOURCE, f"{path}[{i}]", "run without a 'traj' message list")
        task, trial = run.get("task_id", i), int(run.get("trial") or 0)
        run_id = f"{stem}/task-{task}/trial-{trial}"
        seq = 0
        prompts = _prompt_chars(run["traj"])
        for msg in run["traj"]:
            if not isinstance(msg, dict) or msg.get("role") != "assistant":
                continue
            seq += 1
            rows.append({
                "run_id": run_id, "task_name": str(task), "trial": trial, "call_seq": seq, "call_count": 1,
                "is_aggregate": False, "log_format": "openai_chat", "agent": options.get("agent") or stem,
                "model": model, "model_from": model_from, "input_tokens": None, "output_tokens": None,
                "tool_calls": len(msg.get("tool_calls") or []), "recorded_cost_usd": None,
                "reward": None if run.get("reward") is None else float(run["reward"]), "exit_status": None,
                "prompt_chars": [prompts[seq - 1]],
                "response_chars": [_message_chars(msg)],
            })
    return rows


def read_runs(uri: str, options: dict | None = None) -> pa.Table:
    """Every run under ``uri`` (directory, file or glob of ``.traj`` / ``.json`` files) → ``agent_llm_calls``.

    Raises SourceError naming the file for unreadable JSON, an unknown layout, negative token
    counts, or a missing model without the ``model`` option.
    """
    options = options or {}
    files = list_files(uri, (".traj", ".json"), source=SOURCE)
    if not files:
        raise SourceError(SOURCE, uri, "no trajectory files (.traj / .json) found")
    rows: list[dict] = []
    for f in files:
        try:
            with open(f, encoding="utf-8-sig") as fh:
                doc = json.load(fh)
        except ValueError as e:
            raise SourceError(SOURCE, f, f"not valid JSON ({e})") from None
        if isinstance(doc, dict) and "info" in doc and "trajectory" in doc:
            got = _swe_agent(doc, f, options)
        elif isinstance(doc, list):
            got = _openai_chat(doc, f, options)
        else:
            raise SourceError(SOURCE, f, "neither a SWE-agent trajectory (info + trajectory) nor a list of "
                                         "OpenAI-chat runs (traj)")
        ts = _started_at(options, f)
        provider = options.get("provider")
        for r in got:
            r["started_at"] = ts
            r["provider"] = provider or provider_of(r["model"])
            r["_source_uri"] = f
        rows.extend(got)
    return pa.Table.from_pylist(rows, schema=SCHEMA)
