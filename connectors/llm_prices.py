"""LLM list prices from the `genai-prices` package (Pydantic's maintained, time-versioned catalogue).

Two tables: `llm_prices` — one row per provider × model × price period ($ per million tokens;
a model whose price changed has consecutive [price_start_at, price_end_at) periods); and
`llm_price_matches` — the rules genai-prices uses to recognise a model name (equals / starts_with
/ …), flattened so dbt can resolve names with a join instead of a Python loop per call.
Token-tiered prices keep their base tier and set `tiered`.

`llm_price_lines` is the full catalogue in long form — one row per provider × model × [valid_from,
valid_to) × variant × tier × token type — built by asking genai-prices itself for the prices in
force at each breakpoint (price change or variant start date), so batch / flex / priority
variants and context-length tiers resolve exactly as `genai_prices.calc_price` resolves them.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from importlib.metadata import version

import pyarrow as pa

SOURCE = "genai-prices"
TS = pa.timestamp("us", tz="UTC")
_F = pa.float64()
PRICE_FIELDS = ("input_mtok", "cache_read_mtok", "cache_write_mtok", "output_mtok", "input_audio_mtok",
                "output_audio_mtok")
SCHEMAS = {
    "llm_prices": pa.schema([("provider_id", pa.string()), ("model_id", pa.string()), ("model_match", pa.string()),
                             ("price_start_at", TS), ("price_end_at", TS)]
                            + [(f, _F) for f in PRICE_FIELDS]
                            + [("tiered", pa.bool_()), ("genai_prices_version", pa.string()),
                               ("_source_uri", pa.string())]),
    "llm_price_lines": pa.schema([("provider_id", pa.string()), ("model_id", pa.string()),
                                  ("valid_from", TS), ("valid_to", TS), ("variant", pa.string()),
                                  ("tier_start_tokens", pa.int64()), ("price_key", pa.string()),
                                  ("usd_per_unit", pa.decimal128(38, 18)), ("unit_size", pa.int64()),
                                  ("has_time_of_day_price", pa.bool_()), ("genai_prices_version", pa.string()),
                                  ("_source_uri", pa.string())]),
    "llm_price_matches": pa.schema([("provider_id", pa.string()), ("model_id", pa.string()),
                                    ("match_kind", pa.string()), ("match_value", pa.string()),
                                    ("_source_uri", pa.string())]),
}
_CLAUSE_KINDS = {"equals": "equals", "starts_with": "starts_with", "ends_with": "ends_with",
                 "contains": "contains", "regex": "regex"}


def _clause_rows(clause) -> list[tuple[str, str]]:
    """Flatten a match clause tree: or-branches become rows, and-clauses keep their first positive clause."""
    if clause is None:
        return []
    if hasattr(clause, "or_"):
        return [r for c in clause.or_ for r in _clause_rows(c)]
    if hasattr(clause, "and_"):
        for c in clause.and_:
            rows = _clause_rows(c)
            if rows:
                return rows[:1]
        return []
    for attr, kind in _CLAUSE_KINDS.items():
        if hasattr(clause, attr):
            return [(kind, str(getattr(clause, attr)))]
    return []


def _clause_json(clause) -> str:
    return json.dumps([{"kind": k, "value": v} for k, v in _clause_rows(clause)])


def _num(v) -> tuple[float | None, bool]:
    # a price is a number ($/Mtok) or TieredPrices(base, tiers): keep the base tier, flag it
    if v is None:
        return None, False
    if hasattr(v, "base"):
        return float(v.base), True
    return float(v), False


def _periods(prices) -> list[tuple[datetime | None, datetime | None, object]]:
    # ModelPrice, or [ConditionalPrice] whose StartDateConstraints make consecutive periods
    if not isinstance(prices, list):
        return [(None, None, prices)]
    dated = []
    for cp in prices:
        c = cp.constraint
        if c is None:
            dated.append((None, cp.prices))
        elif hasattr(c, "start_date"):
            sd = c.start_date
            dated.append((datetime(sd.year, sd.month, sd.day, tzinfo=timezone.utc), cp.prices))
        # time-of-day constraints (off-peak discounts) are not time versions: left to overrides
    dated.sort(key=lambda x: (x[0] is not None, x[0] or datetime.min.replace(tzinfo=timezone.utc)))
    return [(s, dated[i + 1][0] if i + 1 < len(dated) else None, p) for i, (s, p) in enumerate(dated)]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _variant_label(when: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(when.items()))


def _exists_at(constraint, start: datetime) -> bool:
    # only a start date bounds a variant's existence; a time-of-day window is a price that exists
    if constraint is None or not hasattr(constraint, "start_date"):
        return True
    return constraint.active(start)


def _unit_size(price_key: str) -> int:
    # genai-prices keys name their unit: *_mtok per million, *_kcount / *_kpages per thousand
    if price_key.endswith(("_mtok", "_mchars")):
        return 1_000_000
    if price_key.endswith(("_kcount", "_kpages")):
        return 1_000
    return 1


def _model_lines(provider, model, ver: str, uri: str) -> list[dict]:
    """Long-form price rows for one model: every breakpoint × variant × tier × price key."""
    from decimal import Decimal

    starts = {_EPOCH}
    time_of_day = False
    for cp in (model.prices if isinstance(model.prices, list) else []):
        c = cp.constraint
        if c is not None and hasattr(c, "start_date"):
            starts.add(datetime(c.start_date.year, c.start_date.month, c.start_date.day, tzinfo=timezone.utc))
        elif c is not None:
            time_of_day = True
    contexts: dict[str, dict[str, str] | None] = {"standard": None}
    for pv in model.price_variants or ():
        contexts.setdefault(_variant_label(pv.when), dict(pv.when))
        c = pv.constraint
        if c is not None and hasattr(c, "start_date"):
            starts.add(datetime(c.start_date.year, c.start_date.month, c.start_date.day, tzinfo=timezone.utc))
    bounds = sorted(starts)
    rows = []
    for i, start in enumerate(bounds):
        end = bounds[i + 1] if i + 1 < len(bounds) else None
        for label, ctx in contexts.items():
            # a variant that does not exist yet (its start date is later) gets no rows for the period:
            # get_prices would return the standard price under the variant's label, and a consumer
            # could not tell "the catalogue's Batch price" from "no Batch price known" (where a
            # provider's own Batch discount must apply instead)
            if ctx is not None and not any(_variant_label(pv.when) == label and _exists_at(pv.constraint, start)
                                           for pv in model.price_variants or ()):
                continue
            # the package's own resolution (last active conditional price, then variants first-to-last)
            mp = model.get_prices(start, ctx)
            for key, value in mp.__dict__.items():
                if value is None or key.startswith("_"):
                    continue
                tiers = [(0, value.base)] + [(t.start, t.price) for t in value.tiers] if hasattr(value, "tiers") \
                    else [(0, value)]
                for tier_start, price in tiers:
                    rows.append({"provider_id": provider.id, "model_id": model.id,
                                 "valid_from": start, "valid_to": end, "variant": label,
                                 "tier_start_tokens": int(tier_start), "price_key": key,
                                 "usd_per_unit": Decimal(price), "unit_size": _unit_size(key),
                                 "has_time_of_day_price": time_of_day, "genai_prices_version": ver,
                                 "_source_uri": uri})
    return rows


def snapshot() -> dict[str, pa.Table]:
    """The installed genai-prices catalogue as ``{"llm_prices", "llm_price_lines", "llm_price_matches"}`` tables."""
    from genai_prices import data

    ver = version("genai-prices")
    uri = f"pypi:genai-prices=={ver}"
    prices, matches, lines = [], [], []
    for provider in data.providers:
        for model in provider.models:
            lines.extend(_model_lines(provider, model, ver, uri))
            for kind, value in _clause_rows(model.match):
                matches.append({"provider_id": provider.id, "model_id": model.id, "match_kind": kind,
                                "match_value": value, "_source_uri": uri})
            for start, end, mp in _periods(model.prices):
                row = {"provider_id": provider.id, "model_id": model.id, "model_match": _clause_json(model.match),
                       "price_start_at": start, "price_end_at": end, "genai_prices_version": ver, "_source_uri": uri}
                tiered = False
                for f in PRICE_FIELDS:
                    row[f], t = _num(getattr(mp, f, None))
                    tiered = tiered or t
                row["tiered"] = tiered
                prices.append(row)
    return {"llm_prices": pa.Table.from_pylist(prices, schema=SCHEMAS["llm_prices"]),
            "llm_price_lines": pa.Table.from_pylist(lines, schema=SCHEMAS["llm_price_lines"]),
            "llm_price_matches": pa.Table.from_pylist(matches, schema=SCHEMAS["llm_price_matches"])}
