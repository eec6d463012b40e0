"""LLM list prices from the `genai-prices` package → raw `llm_prices`, `llm_price_lines`, `llm_price_matches`
(snapshot)."""

from connectors import llm_prices as conn
from pipelines.ingest._factory import RawSpec

SPECS = [RawSpec(
    raw_table="llm_prices", source_type="llm_prices", cadence="snapshot", schema=conn.SCHEMAS["llm_prices"],
    snapshot=conn.snapshot,
    snapshot_schemas={"llm_prices": conn.SCHEMAS["llm_prices"], "llm_price_matches": conn.SCHEMAS["llm_price_matches"],
                      "llm_price_lines": conn.SCHEMAS["llm_price_lines"]},
    description="Time-versioned LLM list prices ($/M tokens incl. cache read/write) and the model-name "
                "match rules, so every call is priced as of its own timestamp.",
)]
