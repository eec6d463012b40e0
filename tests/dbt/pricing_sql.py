"""The real dbt pricing SQL (macros/llm_pricing.sql), compiled by dbt, over plain DuckDB tables.

Shared by the genai-prices cross-check test and `tests/benchmarks/bench_pricing.py`:
`compile_pricing_sql()` asks dbt to compile ``llm_priced_calls('calls', 'price_bands',
'price_overrides')`` and ``llm_price_bands('price_lines')``; `load_catalogue(con)` writes the
installed genai-prices catalogue as `price_lines` (shaped like int_llm_price_lines), the bands
and an empty `price_overrides` (shaped like the llm_price_overrides seed).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
REPO = DBT_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _dbt() -> str:
    exe = Path(sys.executable).parent / "dbt"
    return str(exe) if exe.exists() else "dbt"


def _compile(inline: str, work: Path) -> str:
    env = {**os.environ, "AISPEND_DBT_DB_PATH": str(work / "compile.duckdb"),
           "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    r = subprocess.run([_dbt(), "compile", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                        "--quiet", "--inline", inline], cwd=DBT_DIR, env=env, capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"dbt compile failed:\n{r.stdout[-5000:]}\n{r.stderr[-2000:]}")
    return r.stdout.strip()


def compile_pricing_sql() -> tuple[str, str]:
    """(bands SQL over `price_lines`, priced-calls SQL over `calls`, `price_bands`, `price_overrides`)."""
    with tempfile.TemporaryDirectory() as d:
        both = _compile("select * from {{ llm_price_bands('price_lines') }} as b\n-- SPLIT --\n"
                        "select * from {{ llm_priced_calls('calls', 'price_bands', 'price_overrides') }} as p",
                        Path(d))
    bands, priced = both.split("-- SPLIT --")
    return bands.strip(), priced.strip()


def load_catalogue(con, bands_sql: str) -> None:
    """`price_lines` from the installed genai-prices (as int_llm_price_lines), `price_bands`, empty overrides."""
    from connectors.llm_prices import snapshot

    lines = snapshot()["llm_price_lines"]  # noqa: F841 (read by DuckDB's replacement scan)
    con.execute("set TimeZone = 'UTC'")
    con.execute("""
        create or replace table price_lines as
        select provider_id, model_id,
               coalesce(valid_from, timestamptz '1970-01-01 00:00:00+00') as valid_from_at,
               coalesce(valid_to, timestamptz '9999-12-31 00:00:00+00')   as valid_to_at,
               variant, tier_start_tokens, price_key, usd_per_unit, unit_size, has_time_of_day_price
        from lines""")
    con.execute(f"create or replace table price_bands as {bands_sql}")
    con.execute("""
        create or replace table price_overrides (
            provider_id varchar, model_id varchar, variant varchar, valid_from date, valid_to date,
            input_usd_per_mtok decimal(38,18), cache_read_usd_per_mtok decimal(38,18),
            cache_write_usd_per_mtok decimal(38,18), output_usd_per_mtok decimal(38,18),
            discount_pct decimal(38,18), source varchar, as_of date)""")
