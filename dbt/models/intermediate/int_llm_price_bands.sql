-- One row per provider × model × price period × variant × input-token band with the $/1M-token
-- prices of that band (see macros/llm_pricing.sql): what every per-call pricing join reads.
select * from {{ llm_price_bands(ref('int_llm_price_lines')) }} as bands
