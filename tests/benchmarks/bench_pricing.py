"""Benchmark: pricing N LLM calls with the dbt pricing SQL in DuckDB vs `genai_prices.calc_price` per call.

Target (issue "Every token is ingested, priced as of when it was used…"): pricing 10M calls at
least 100× the throughput of calling ``genai_prices.calc_price`` per call (measured in the same
run, on a sample, extrapolated), at least 1M calls/s, peak RSS under 2 GiB.

The SQL is the real one: dbt compiles ``llm_price_bands`` / ``llm_priced_calls``
(dbt/macros/llm_pricing.sql — what int_llm_price_bands and the per-call models run) and a child
process runs it over a Parquet file of N random calls (random catalogue model, dates 2023–2027
across price changes, input up to 300k tokens so context tiers are crossed, cache reads and
writes, 30 % Batch), writing the priced calls to Parquet. Peak RSS is that child's
(``getrusage(RUSAGE_CHILDREN)``). The per-call side prices the first ``--sample`` calls of the
same file with ``calc_price`` in this process.

    python tests/benchmarks/bench_pricing.py [--calls 10000000] [--sample 5000] [--dir /tmp/aispend-bench]

N defaults to env ``BENCH_CALLS`` or 10M. Not a test: timings vary by machine; the ratios are what
to compare. Results are printed and written to ``<dir>/results-pricing.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "dbt"))
sys.path.insert(0, str(Path(__file__).parent))

from _measure import measure, table  # noqa: E402
from pricing_sql import compile_pricing_sql, load_catalogue  # noqa: E402

# The child: load the catalogue, price the calls file, write the priced calls. Prints the pricing
# step's own seconds (catalogue load and process start excluded; both are in wall_s).
_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + '/tests/dbt')
import duckdb
from pricing_sql import load_catalogue
work = sys.argv[2]
bands_sql, priced_sql = open(work + '/bands.sql').read(), open(work + '/priced.sql').read()
con = duckdb.connect()
con.execute("set memory_limit = '1500MB'")
con.execute(f"set temp_directory = '{work}/tmp'")
load_catalogue(con, bands_sql)
con.execute(f"create view calls as select * from read_parquet('{work}/calls.parquet')")
t = time.monotonic()
con.execute(f"copy (select call_id, price_source, cost_usd from ({priced_sql})) "
            f"to '{work}/priced.parquet' (format parquet)")
s = time.monotonic() - t
n, unpriced, total = con.execute(f"select count(*), count(*) filter (where price_source = 'unpriced'), sum(cost_usd) "
                                 f"from read_parquet('{work}/priced.parquet')").fetchone()
print(json.dumps({"price_s": round(s, 3), "rows": n, "unpriced": unpriced, "total_usd": float(total)}))
"""


def _write_calls(work: Path, n: int, bands_sql: str) -> int:
    """N random calls over models priced in tokens only (deterministic: hashes of the call id)."""
    import duckdb

    con = duckdb.connect()
    con.execute("set memory_limit = '1500MB'")
    load_catalogue(con, bands_sql)
    con.execute("""
        create table cands as
        select row_number() over (order by provider_id, model_id) - 1 as k, provider_id, model_id
        from (select provider_id, model_id from price_lines group by all
        having bool_and(not has_time_of_day_price) and count(*) filter (where price_key = 'input_mtok') > 0
           and bool_and(price_key not in ('requests_kcount', 'input_mchars', 'audio_hours', 'input_audio_hours',
                                          'input_document_kpages', 'input_annotated_document_kpages',
                                          'input_text_messages_kcount')))""")
    ncands = con.execute("select count(*) from cands").fetchone()[0]
    con.execute(f"""
        copy (
          with ids as (select range as i from range(?)),
          raw as (
            select i,
                   hash(i, 1) % {ncands} as k,
                   timestamptz '2023-01-01 00:00:00+00' + to_seconds(cast(hash(i, 2) % 141000000 as bigint)) as call_at,
                   cast(hash(i, 3) % 300000 as bigint) as input_tokens,
                   hash(i, 4) % 100 as r_cache, hash(i, 5) % 100 as r_frac, hash(i, 6) % 10 as r_batch,
                   cast(hash(i, 7) % 20000 as bigint) as output_tokens
            from ids)
          select i as call_id, call_at, cands.provider_id as price_provider_id, cands.model_id as price_model_id,
                 case when r_batch < 3 then 'processing=batch' else 'standard' end as variant,
                 input_tokens,
                 case when r_cache < 50 then input_tokens * r_frac // 100 else 0 end as cache_read_tokens,
                 case when r_cache >= 80 then input_tokens * r_frac // 200 else 0 end as cache_write_tokens,
                 output_tokens
          from raw join cands using (k)
          order by call_id
        ) to '{work}/calls.parquet' (format parquet, row_group_size 1000000)""", [n])
    con.close()
    return ncands


def _per_call(work: Path, sample: int) -> tuple[float, int]:
    """Seconds to price the first `sample` calls with genai_prices.calc_price, one call at a time."""
    import duckdb
    import genai_prices

    rows = duckdb.connect().execute(
        f"select * from read_parquet('{work}/calls.parquet') order by call_id limit ?", [sample]).fetchall()
    t = time.monotonic()
    for (_, at, provider, model, variant, inp, cr, cw, out) in rows:
        ctx = None if variant == "standard" else dict([variant.split("=", 1)])
        try:
            genai_prices.calc_price(genai_prices.Usage(input_tokens=inp, cache_read_tokens=cr,
                                                       cache_write_tokens=cw, output_tokens=out),
                                    model, provider_id=provider, genai_request_timestamp=at, price_context=ctx)
        except LookupError:
            pass  # the package's own lookup misses a few ids; it still did the work
    return time.monotonic() - t, len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=int(os.environ.get("BENCH_CALLS", 10_000_000)))
    ap.add_argument("--sample", type=int, default=5000)
    ap.add_argument("--dir", default="/tmp/aispend-bench")
    args = ap.parse_args()
    work = Path(args.dir) / "pricing"
    work.mkdir(parents=True, exist_ok=True)
    (work / "tmp").mkdir(exist_ok=True)

    bands_sql, priced_sql = compile_pricing_sql()
    (work / "bands.sql").write_text(bands_sql)
    (work / "priced.sql").write_text(priced_sql)
    t = time.monotonic()
    ncands = _write_calls(work, args.calls, bands_sql)
    print(f"{args.calls:,} random calls over {ncands} models written in {time.monotonic() - t:.1f}s")

    sql = measure([sys.executable, "-c", _CHILD, str(REPO), str(work)])
    res = json.loads(sql["output"].splitlines()[-1])
    per_s, sampled = _per_call(work, args.sample)

    sql_rate = args.calls / res["price_s"]
    per_call_rate = sampled / per_s
    out = {
        "calls": args.calls, "models": ncands, "sql_price_s": res["price_s"], "sql_child_wall_s": sql["wall_s"],
        "sql_peak_rss_mib": sql["peak_rss_mib"], "sql_calls_per_s": round(sql_rate),
        "sql_calls_per_s_incl_startup": round(args.calls / sql["wall_s"]),
        "per_call_sample": sampled, "per_call_s": round(per_s, 3), "per_call_calls_per_s": round(per_call_rate),
        "per_call_extrapolated_s": round(args.calls / per_call_rate, 1),
        "speedup": round(sql_rate / per_call_rate, 1), "priced_rows": res["rows"], "unpriced": res["unpriced"],
        "total_usd": res["total_usd"],
    }
    print(table([("dbt pricing SQL (child process)", sql)]))
    print(f"SQL: {args.calls:,} calls priced in {res['price_s']:.2f}s = {sql_rate:,.0f} calls/s "
          f"({out['sql_calls_per_s_incl_startup']:,} incl. catalogue load and start); "
          f"peak RSS {sql['peak_rss_mib']:.0f} MiB")
    print(f"calc_price per call: {sampled:,} calls in {per_s:.2f}s = {per_call_rate:,.0f} calls/s "
          f"→ {out['per_call_extrapolated_s']:,}s extrapolated for {args.calls:,}")
    print(f"speed-up {out['speedup']}× (target ≥ 100×); ≥ 1M calls/s: {'yes' if sql_rate >= 1e6 else 'NO'}; "
          f"RSS < 2 GiB: {'yes' if sql['peak_rss_mib'] < 2048 else 'NO'}")
    (Path(args.dir) / "results-pricing.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
