"""Shared constants and helpers for the synthetic organisation.

Everything here is *static* description of the demo organisation (teams, apps, accounts,
list prices) plus a few small numeric helpers. Keeping it in one place means the generator
modules, the tests and the README agree on one set of numbers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np

UTC = timezone.utc
DEFAULT_END = date(2026, 11, 15)  # a Sunday; days=90 -> 2026-08-18 .. 2026-11-15

# --- organisation ---------------------------------------------------------------------------
TEAM_APP = {
    "search": "doc-search",
    "support": "support-agent",
    "ml-research": "eval-harness",
    "platform": "internal-chat",
}
APP_TEAM = {a: t for t, a in TEAM_APP.items()}
OPENAI_PROJECT = {
    "doc-search": "proj_search",
    "support-agent": "proj_support",
    "eval-harness": "proj_research",
    "internal-chat": "proj_platform",
}
ANTHROPIC_WORKSPACE = {"support-agent": "wrkspc_support", "eval-harness": "wrkspc_research"}
OPENAI_ORG = "org-aispenddemo0001"

# --- list prices (USD per 1M tokens) --------------------------------------------------------
# Source: the `genai-prices` package v0.2.3 (pydantic/genai-prices data, checked 2026-11),
# base tier (Anthropic Sonnet 4.5 is cheaper below 200k input tokens; the demo stays below).
# tests/test_demo_generator.py re-derives these from genai_prices so a drift is caught.
# Keys: input (uncached), cache_read, cache_write (5 min ephemeral), cache_write_1h, output.
LLM_PRICES = {
    "gpt-4o-2024-08-06": {"input": 2.50, "cache_read": 1.25, "output": 10.00},
    "gpt-4o-mini-2024-07-18": {"input": 0.15, "cache_read": 0.075, "output": 0.60},
    "gpt-4.1-2025-04-14": {"input": 2.00, "cache_read": 0.50, "output": 8.00},
    "claude-sonnet-4-5-20250929": {
        "input": 3.00, "cache_read": 0.30, "cache_write": 3.75, "cache_write_1h": 6.00,
        "output": 15.00,
    },
    "claude-haiku-4-5-20251001": {
        "input": 1.00, "cache_read": 0.10, "cache_write": 1.25, "cache_write_1h": 2.00,
        "output": 5.00,
    },
}
OPENAI_BATCH_DISCOUNT = 0.5  # OpenAI Batch API: 50 % off input and output.
ANTHROPIC_WEB_SEARCH_PER_1K = 10.00  # genai-prices: $10 per 1k web searches.
PROVIDER_OF_MODEL = {
    m: ("anthropic" if m.startswith("claude") else "openai") for m in LLM_PRICES
}

SELF_HOSTED_MODEL = "meta-llama/Llama-3.1-70B-Instruct"
GPU_HOST = "gpu-node-01"
GPU_NAME = "NVIDIA H100 80GB HBM3"
GPU_WINDOW_DAYS = 30


def llm_cost(model: str, *, uncached_input: float = 0, cache_read: float = 0,
             cache_write: float = 0, output: float = 0, batch: bool = False) -> float:
    """USD cost of a token bundle at list price (genai-prices base tier)."""
    p = LLM_PRICES[model]
    usd = (uncached_input * p["input"] + cache_read * p["cache_read"]
           + cache_write * p.get("cache_write", p["input"]) + output * p["output"]) / 1e6
    return usd * (OPENAI_BATCH_DISCOUNT if batch else 1.0)


# --- window ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """Inclusive day window [start, end] of the generated organisation."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        n = (self.end - self.start).days + 1
        return [self.start + timedelta(days=i) for i in range(n)]

    def __contains__(self, d: date) -> bool:
        return self.start <= d <= self.end

    @property
    def start_dt(self) -> datetime:
        return day_start(self.start)

    @property
    def end_dt(self) -> datetime:
        """Exclusive end instant (midnight after the last day)."""
        return day_start(self.end + timedelta(days=1))


def day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def month_bounds(period: str) -> tuple[datetime, datetime]:
    y, m = (int(x) for x in period.split("-"))
    start = datetime(y, m, 1, tzinfo=UTC)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
    return start, end


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_id(*parts: object, n: int = 16) -> str:
    """Deterministic hex id from its parts (stable across runs and Python versions)."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return h[:n]


def diurnal(hour_of_day: np.ndarray, *, peak_hour: float = 16.0, floor: float = 0.25) -> np.ndarray:
    """Smooth day/night demand shape in [floor, 1]; peak at `peak_hour` UTC (US afternoon)."""
    phase = 2 * np.pi * (np.asarray(hour_of_day, dtype=float) - peak_hour) / 24.0
    return floor + (1 - floor) * (0.5 + 0.5 * np.cos(phase)) ** 1.5


def weekday_factor(d: date, weekend: float = 0.45) -> float:
    """Business workloads drop at the weekend."""
    return weekend if d.weekday() >= 5 else 1.0


def child_rng(seed: int, name: str) -> np.random.Generator:
    """An independent, named random stream so sources do not shift when another changes."""
    return np.random.default_rng([seed, int(stable_id(name, n=8), 16)])


# --- injected events (contracts.md §"Injected events"; fixed dates, omitted if outside) ----
RUNAWAY_DAY = date(2026, 11, 10)
RUNAWAY_CALLS = 150
SPIKE_DAY = date(2026, 11, 12)
SPIKE_TEAM = "ml-research"
SPIKE_FACTOR = 8.0
IDLE_START = date(2026, 10, 26)
IDLE_END = date(2026, 11, 1)


def in_idle_week(d: date) -> bool:
    return IDLE_START <= d <= IDLE_END
