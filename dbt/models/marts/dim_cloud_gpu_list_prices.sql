-- Cloud list price of one GPU-hour per GPU SKU (GCP Cloud Billing Catalog), beside the fully
-- loaded cost of an owned GPU-hour of the same model: the two sides of a repatriation decision.
--   hourly_price_per_gpu_usd     = first pricing tier's unit price, time units converted to hours
--                                  (GCP prices accelerators per GPU, not per machine)
--   onprem_cost_per_gpu_hour_usd = Σ cost_total_usd / GPU-hours of that model in fct_gpu_hours
--                                  (capex + energy + facility + ops, idle included); null when no
--                                  owned GPU of that model is measured
--   cloud_to_onprem_ratio        = hourly_price_per_gpu_usd / onprem_cost_per_gpu_hour_usd
-- The GPU model is the first `gpu_models` seed row whose name pattern the SKU description matches
-- (e.g. "Nvidia H100 80GB GPU running in Americas" ~ '%H100%'); TPUs keep gpu_model null.
with skus as (

    select * from {{ ref('stg_gcp__catalog_skus') }}
    where tier_index = 0
      and hourly_unit_price is not null

),

models as (

    select gpu_model, nvml_name_pattern from {{ ref('gpu_models') }}

),

matched as (

    select
        skus.*,
        (
            select m.gpu_model from models as m
            where upper(skus.sku_description) like upper(m.nvml_name_pattern)
            order by length(m.nvml_name_pattern) desc, m.gpu_model
            limit 1
        ) as gpu_model
    from skus

),

onprem as (

    select
        gpu_model,
        sum(cost_total_usd) / count(*) as onprem_cost_per_gpu_hour_usd
    from {{ ref('fct_gpu_hours') }}
    group by gpu_model

)

select
    'Google Cloud'                                              as provider,
    matched.sku_id,
    matched.sku_description,
    matched.gpu_model,
    matched.usage_type,
    matched.service_regions_json,
    matched.currency,
    matched.hourly_unit_price                                   as hourly_price_per_gpu_usd,
    matched.effective_at,
    cast(onprem.onprem_cost_per_gpu_hour_usd as decimal(38, 10)) as onprem_cost_per_gpu_hour_usd,
    cast(matched.hourly_unit_price / nullif(onprem.onprem_cost_per_gpu_hour_usd, 0) as double) as cloud_to_onprem_ratio,
    matched._load_id                                            as load_id
from matched
left join onprem
    on onprem.gpu_model = matched.gpu_model
