"""The dbt pricing SQL (as-of join on the long genai-prices catalogue, variants, context tiers,
cache reads / writes) against `genai_prices.calc_price`, call by call, on 10,000 random calls."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import duckdb
import pytest

from pricing_sql import compile_pricing_sql, load_catalogue

N_CALLS = 10_000
SEED = 20261122


@pytest.fixture(scope="module")
def con():
    bands_sql, priced_sql = compile_pricing_sql()
    c = duckdb.connect()
    load_catalogue(c, bands_sql)
    yield c, priced_sql
    c.close()


def _candidates(con) -> list[tuple[str, str, list[str], list[datetime]]]:
    """(provider, model, variants, breakpoints) for models priced in tokens only, where genai-prices'
    own lookup of the model id finds that model (resolution is int_llm_model_resolution's job)."""
    import genai_prices

    rows = con.execute("""
        select provider_id, model_id, list(distinct variant), list(distinct valid_from_at)
        from price_lines
        group by all
        having bool_and(not has_time_of_day_price)
           and bool_and(price_key in ('input_mtok', 'cache_read_mtok', 'cache_write_mtok', 'output_mtok',
                                      'cache_write_1h_mtok', 'input_audio_mtok', 'output_audio_mtok',
                                      'input_image_mtok', 'output_image_mtok', 'cache_audio_read_mtok',
                                      'input_video_mtok', 'output_video_mtok', 'web_searches_kcount',
                                      'storage_searches_kcount', 'cache_image_read_mtok'))
           and count(*) filter (where price_key = 'input_mtok') > 0
        order by 1, 2""").fetchall()
    out = []
    for provider, model, variants, starts in rows:
        try:
            found = genai_prices.calc_price(genai_prices.Usage(input_tokens=1), model, provider_id=provider)
        except Exception:  # a model the package cannot look up by its own id
            continue
        if found.model.id == model:
            out.append((provider, model, sorted(variants), sorted(starts)))
    return out


def _random_calls(cands, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    lo, hi = datetime(2023, 1, 1, tzinfo=timezone.utc), datetime(2027, 6, 30, tzinfo=timezone.utc)
    changed = [c for c in cands if len(c[3]) > 1]
    calls = []
    for i in range(n):
        provider, model, variants, starts = rng.choice(changed if rng.random() < 0.5 else cands)
        if len(starts) > 1 and rng.random() < 0.7:
            # close to a price change: the day before, the day of, a few days after
            b = rng.choice(starts[1:])
            at = b + timedelta(seconds=rng.randint(-2 * 86400, 5 * 86400))
        else:
            at = lo + timedelta(seconds=rng.randint(0, int((hi - lo).total_seconds())))
        # log-uniform input up to 1M tokens, so context tiers (128k, 200k, 272k, ...) are crossed
        inp = int(10 ** rng.uniform(0, 6)) if rng.random() > 0.03 else 0
        cache_read = rng.randint(0, inp) if rng.random() < 0.5 else 0
        cache_write = rng.randint(0, inp - cache_read) if rng.random() < 0.3 else 0
        out = int(10 ** rng.uniform(0, 5))
        r = rng.random()
        variant = (rng.choice(variants) if r < 0.5 else
                   "processing=batch" if r < 0.6 else "standard")  # batch also where the model has none
        calls.append({"call_id": i, "call_at": at, "price_provider_id": provider, "price_model_id": model,
                      "variant": variant, "input_tokens": inp, "cache_read_tokens": cache_read,
                      "cache_write_tokens": cache_write, "output_tokens": out})
    return calls


def test_sql_prices_equal_calc_price_on_10k_random_calls(con):
    import genai_prices
    con, priced_sql = con
    import pyarrow as pa

    cands = _candidates(con)
    assert len(cands) > 500
    calls = _random_calls(cands, N_CALLS, SEED)
    arrow_calls = pa.Table.from_pylist(calls)  # noqa: F841 (read by DuckDB's replacement scan)
    con.execute("create or replace table calls as select * from arrow_calls")
    got = dict(con.execute(f"select call_id, cost_usd from ({priced_sql}) order by call_id").fetchall())
    sources = dict(con.execute(f"select price_source, count(*) from ({priced_sql}) group by 1").fetchall())

    diffs, batch, cached, tiered = [], 0, 0, 0
    for c in calls:
        ctx = None if c["variant"] == "standard" else dict(kv.split("=", 1) for kv in c["variant"].split(","))
        want = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=c["input_tokens"], cache_read_tokens=c["cache_read_tokens"],
                               cache_write_tokens=c["cache_write_tokens"], output_tokens=c["output_tokens"]),
            c["price_model_id"], provider_id=c["price_provider_id"], genai_request_timestamp=c["call_at"],
            price_context=ctx).total_price
        diffs.append(abs(Decimal(got[c["call_id"]]) - want))
        batch += c["variant"] == "processing=batch"
        cached += c["cache_read_tokens"] > 0 or c["cache_write_tokens"] > 0
        tiered += c["input_tokens"] > 128_000
    worst = max(diffs)
    print(f"\ncompared {len(calls)} calls ({batch} batch, {cached} cached, {tiered} >128k input) over "
          f"{len(cands)} models; max |sql - calc_price| = ${worst}; price_source {sources}")
    assert len(diffs) == N_CALLS
    assert sources == {"list_price": N_CALLS}
    assert batch > 500 and cached > 3000 and tiered > 1000
    assert worst < Decimal("0.005"), [(c, d) for c, d in zip(calls, diffs) if d >= Decimal("0.005")][:5]


def test_overrides_win_and_unknown_models_stay_unpriced(con):
    con, priced_sql = con
    con.execute("""
        insert into price_overrides values
          ('anthropic', 'claude-opus-4-1', 'standard', date '2026-01-01', null, null, null, null, null, 0.10,
           'contract', date '2026-11-22'),
          ('openai', 'gpt-4o', 'standard', date '2026-01-01', null, null, null, null, null, 0.20, 'contract',
           date '2026-11-22'),
          ('self-hosted', 'llama-internal', 'standard', date '2025-01-01', null, 0.20, 0.20, null, 0.60, null,
           'rate card', date '2026-11-22')""")
    con.execute("""
        create or replace table calls as
        select * from (values
          (1, timestamptz '2025-12-31 23:00:00+00', 'anthropic', 'claude-opus-4-1', 'standard', 1000000, 0, 0, 100000),
          (2, timestamptz '2026-01-01 00:00:00+00', 'anthropic', 'claude-opus-4-1', 'standard', 1000000, 0, 0, 100000),
          (3, timestamptz '2026-11-01 00:00:00+00', 'openai', 'gpt-4o', 'processing=batch', 1000000, 0, 0, 100000),
          (4, timestamptz '2026-03-01 00:00:00+00', 'self-hosted', 'llama-internal', 'standard', 2000000, 500000, 0,
           1000000),
          (5, timestamptz '2026-03-01 00:00:00+00', 'openai', 'no-such-model', 'standard', 1000, 0, 0, 1000)
        ) as t(call_id, call_at, price_provider_id, price_model_id, variant, input_tokens, cache_read_tokens,
               cache_write_tokens, output_tokens)""")
    got = {r[0]: (r[1], r[2]) for r in con.execute(
        f"select call_id, price_source, cost_usd from ({priced_sql}) order by call_id").fetchall()}
    con.execute("delete from price_overrides")
    # opus 4.1 list: $15 in / $75 out per 1M → 15 + 7.5 = 22.5; 10 % off from 2026-01-01
    assert got[1] == ("list_price", Decimal("22.5"))
    assert got[2] == ("override", Decimal("20.25"))
    # gpt-4o Batch (in genai-prices from 2026-10-14) list $1.25 in / $5 out → 1.25 + 0.5, then the 20 % discount: 1.4
    assert got[3] == ("override", Decimal("1.4"))
    # self-hosted rate card: 1.5M × 0.20 + 0.5M cached × 0.20 + 1M × 0.60
    assert got[4] == ("override", Decimal("1.0"))
    # unknown: null, never $0
    assert got[5] == ("unpriced", None)
