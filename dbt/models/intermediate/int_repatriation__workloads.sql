-- Demand statistics per repatriation workload over the trailing window, from the hourly series
-- (int_repatriation__hourly_demand: every hour of the window from the workload's first demand day,
-- zero-demand hours included).
--   history_days           = days from the workload's first demand to the window end
--   window_days            = min(repatriation_min_days, hours observed since first demand / 24)
--   demand_cov             = stddev_pop / mean of hourly gpu_hours_needed
--   p10/p90/p95            = percentile_cont of hourly gpu_hours_needed
--   window_cost_usd        = Σ cost_usd in the window (API: usage × price as of the day, batch at
--                            batch prices; instances: EffectiveCost)
--   monthly_cloud_cost_usd = window_cost_usd / window_days × 30.4375
--   batch_cost_share       = Σ batch cost / Σ cost
with hourly as (

    select * from {{ ref('int_repatriation__hourly_demand') }}

),

bounds as (

    select workload_type, max(hour_at) + interval 1 hour as window_end_at
    from hourly
    group by workload_type

),

stats as (

    select
        workload_id,
        any_value(workload_type)                          as workload_type,
        any_value(provider)                               as provider,
        any_value(model)                                  as model,
        any_value(application)                            as application,
        any_value(account_id)                             as account_id,
        any_value(instance_family)                        as instance_family,
        any_value(first_demand_at)                        as first_demand_at,
        any_value(demand_source)                          as demand_source,
        any_value(gpu_model)                              as gpu_model,
        any_value(size_class)                             as size_class,
        any_value(prefill_tokens_per_s)                   as prefill_tokens_per_s,
        any_value(decode_tokens_per_s)                    as decode_tokens_per_s,
        any_value(throughput_source)                      as throughput_source,
        count(*)                                          as window_hours,
        cast(round(sum(input_tokens)) as bigint)          as window_input_tokens,
        cast(round(sum(output_tokens)) as bigint)         as window_output_tokens,
        sum(gpu_hours_needed)                             as window_gpu_hours_needed,
        avg(gpu_hours_needed)                             as mean_gpu_hours_per_hour,
        stddev_pop(gpu_hours_needed)                      as stddev_gpu_hours_per_hour,
        percentile_cont(0.10) within group (order by gpu_hours_needed) as p10_gpu_hours_per_hour,
        percentile_cont(0.90) within group (order by gpu_hours_needed) as p90_gpu_hours_per_hour,
        percentile_cont(0.95) within group (order by gpu_hours_needed) as p95_gpu_hours_per_hour,
        percentile_cont(0.95) within group (order by coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) as p95_tokens_per_hour,
        sum(cost_usd)                                     as window_cost_usd,
        sum(batch_cost_usd)                               as window_batch_cost_usd
    from hourly
    -- hours before the workload existed are not demand of zero
    where hour_at >= {{ dbt.date_trunc('day', 'first_demand_at') }}
    group by workload_id

)

select
    stats.workload_id,
    stats.workload_type,
    stats.provider,
    stats.model,
    stats.application,
    stats.account_id,
    stats.instance_family,
    stats.demand_source,
    stats.first_demand_at,
    cast({{ dbt.datediff('stats.first_demand_at', 'bounds.window_end_at', 'day') }} as integer) as history_days,
    least(
        {{ threshold('repatriation_min_days') }},
        {{ dbt.datediff('greatest(stats.first_demand_at, bounds.window_end_at - to_hours(stats.window_hours))', 'bounds.window_end_at', 'hour') }} / 24.0
    )                                                                  as window_days,
    stats.window_hours,
    stats.gpu_model,
    stats.size_class,
    stats.prefill_tokens_per_s,
    stats.decode_tokens_per_s,
    stats.throughput_source,
    stats.window_input_tokens,
    stats.window_output_tokens,
    stats.p95_tokens_per_hour,
    stats.window_gpu_hours_needed,
    stats.mean_gpu_hours_per_hour,
    stats.p10_gpu_hours_per_hour,
    stats.p90_gpu_hours_per_hour,
    stats.p95_gpu_hours_per_hour,
    stats.stddev_gpu_hours_per_hour / nullif(stats.mean_gpu_hours_per_hour, 0) as demand_cov,
    cast(stats.window_cost_usd as decimal(38, 10))                     as window_cost_usd,
    cast(stats.window_batch_cost_usd as decimal(38, 10))               as window_batch_cost_usd,
    cast(stats.window_batch_cost_usd / nullif(stats.window_cost_usd, 0) as double) as batch_cost_share
from stats
inner join bounds
    on bounds.workload_type = stats.workload_type
