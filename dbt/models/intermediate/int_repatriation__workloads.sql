-- Demand and economics per API workload (provider × model × application) over the trailing
-- window (repatriation_min_days, default 28 days ending at the last usage day). Daily tokens and
-- cost come from the API usage data (complete; account_attribution gives the application), and
-- the hour-of-day shape from traced calls (fct_llm_calls); a workload seen only in traces uses
-- its calls.
--   gpu_s per hour  = input_tokens / prefill_tokens_per_s + output_tokens / decode_tokens_per_s
--   demand_cov      = stddev_pop / mean of hourly gpu_s (hours without calls count as 0)
--   gpus_needed     = max(1, ceil(p95 hourly gpu_s / 3600 / target_utilisation))
--   monthly_cloud_cost_usd  = window cost / window days × 30.4375
--   capex per GPU           = purchase_price_usd + server_overhead_usd_per_gpu
--   monthly opex per GPU    = (idle_power_w + (tdp_w − idle_power_w) × target_utilisation) / 1000
--                             × hours_per_month × usd_per_kwh × pue
--                             + colo_usd_per_kw_month × tdp_w / 1000 + ops_usd_per_gpu_month
--   monthly_onprem_cost_usd = gpus × (capex / (useful_life_years × 12) + monthly opex)
--   payback_months          = gpus × capex / (monthly cloud − gpus × monthly opex), null if ≤ 0
--   tco_ratio               = 12 × monthly cloud / (gpus × capex + 12 × gpus × monthly opex)
{%- set window_days = 28 %}
with calls as (

    select * from {{ ref('fct_llm_calls') }}
    where serving = 'api'

),

usage_daily as (

    -- complete daily API usage and spend (usage × list price), attributed to applications
    select
        cost.usage_date                                   as day,
        cost.provider,
        cost.model,
        coalesce(attribution.application, 'unattributed') as application,
        sum(case when cost.token_type in ('output', 'output_audio', 'web_search') then 0 else cost.tokens end) as input_tokens,
        sum(case when cost.token_type in ('output', 'output_audio') then cost.tokens else 0 end)              as output_tokens,
        sum(cost.cost_usd)                                as cost_usd
    from {{ ref('int_llm_api_daily_cost') }} as cost
    left join {{ ref('account_attribution') }} as attribution
        on attribution.provider = cost.provider
        and attribution.account_id = cost.account_id
    group by all

),

calls_hourly as (

    select
        provider,
        model,
        coalesce(application, 'unattributed')       as application,
        {{ dbt.date_trunc('hour', 'started_at') }}  as hour_at,
        sum(input_tokens)                           as input_tokens,
        sum(output_tokens)                          as output_tokens,
        sum(cost_usd)                               as cost_usd
    from calls
    group by all

),

calls_daily_totals as (

    select provider, model, application, cast(hour_at as date) as day,
           sum(input_tokens + output_tokens) as tokens
    from calls_hourly
    group by all

),

daily as (

    -- usage data where the workload has it (complete); traced calls otherwise
    select day, provider, model, application, input_tokens, output_tokens, cost_usd, 'usage' as demand_source
    from usage_daily
    union all
    select cast(hour_at as date), provider, model, application,
           sum(input_tokens), sum(output_tokens), sum(cost_usd), 'calls'
    from calls_hourly
    where not exists (
        select 1 from usage_daily
        where usage_daily.provider = calls_hourly.provider
          and usage_daily.model = calls_hourly.model
          and usage_daily.application = calls_hourly.application
    )
    group by all

),

bounds as (

    select
        cast(max(day) as timestamptz) + interval 1 day as window_end_at,
        cast(max(day) as timestamptz) + interval 1 day
            - to_days(cast({{ threshold('repatriation_min_days') }} as integer)) as window_start_at
    from daily

),

workloads as (

    select
        provider,
        model,
        application,
        min(demand_source)                     as demand_source,
        cast(min(day) as timestamptz)          as first_call_at,
        cast(max(day) as timestamptz)          as last_call_at
    from daily
    group by provider, model, application

),

throughput as (

    select
        workloads.provider,
        workloads.model,
        workloads.application,
        serving_throughput.gpu_model,
        serving_throughput.size_class,
        serving_throughput.prefill_tokens_per_s,
        serving_throughput.decode_tokens_per_s,
        row_number() over (
            partition by workloads.provider, workloads.model, workloads.application
            order by length(serving_throughput.model_pattern) desc, serving_throughput.gpu_model
        ) as match_rank
    from workloads
    inner join {{ ref('serving_throughput') }} as serving_throughput
        on lower(workloads.model) like serving_throughput.model_pattern

),

hours as (

    select unnest(generate_series(window_start_at, window_end_at - interval 1 hour, interval 1 hour)) as hour_at
    from bounds

),

hourly as (

    -- every hour of the window for every workload: the day's tokens spread over its hours in
    -- the proportions the traced calls show (evenly when that day has no traced calls)
    select
        workloads.provider,
        workloads.model,
        workloads.application,
        hours.hour_at,
        coalesce(daily.input_tokens, 0) * coalesce(
            (calls_hourly.input_tokens + calls_hourly.output_tokens) * 1.0 / nullif(calls_daily_totals.tokens, 0),
            case when calls_daily_totals.tokens > 0 then 0 else 1 / 24.0 end)  as input_tokens,
        coalesce(daily.output_tokens, 0) * coalesce(
            (calls_hourly.input_tokens + calls_hourly.output_tokens) * 1.0 / nullif(calls_daily_totals.tokens, 0),
            case when calls_daily_totals.tokens > 0 then 0 else 1 / 24.0 end)  as output_tokens,
        coalesce(daily.cost_usd, 0) / 24.0                                      as cost_usd
    from workloads
    cross join hours
    left join daily
        on daily.provider = workloads.provider
        and daily.model = workloads.model
        and daily.application = workloads.application
        and daily.day = cast(hours.hour_at as date)
    left join calls_daily_totals
        on calls_daily_totals.provider = workloads.provider
        and calls_daily_totals.model = workloads.model
        and calls_daily_totals.application = workloads.application
        and calls_daily_totals.day = cast(hours.hour_at as date)
    left join calls_hourly
        on calls_hourly.provider = workloads.provider
        and calls_hourly.model = workloads.model
        and calls_hourly.application = workloads.application
        and calls_hourly.hour_at = hours.hour_at

),

demand as (

    select
        hourly.provider,
        hourly.model,
        hourly.application,
        throughput.gpu_model,
        throughput.size_class,
        count(*)                                        as window_hours,
        cast(sum(hourly.input_tokens) as bigint)        as window_input_tokens,
        cast(sum(hourly.output_tokens) as bigint)       as window_output_tokens,
        sum(hourly.cost_usd)                            as window_cost_usd,
        avg(hourly.input_tokens / throughput.prefill_tokens_per_s
            + hourly.output_tokens / throughput.decode_tokens_per_s)     as mean_gpu_s_per_hour,
        stddev_pop(hourly.input_tokens / throughput.prefill_tokens_per_s
            + hourly.output_tokens / throughput.decode_tokens_per_s)     as stddev_gpu_s_per_hour,
        percentile_cont(0.95) within group (
            order by hourly.input_tokens / throughput.prefill_tokens_per_s
                     + hourly.output_tokens / throughput.decode_tokens_per_s) as p95_gpu_s_per_hour,
        percentile_cont(0.95) within group (order by hourly.input_tokens + hourly.output_tokens) as p95_tokens_per_hour
    from hourly
    left join throughput
        on throughput.provider = hourly.provider
        and throughput.model = hourly.model
        and throughput.application = hourly.application
        and throughput.match_rank = 1
    group by all

),

economics as (

    select
        demand.*,
        workloads.demand_source,
        workloads.first_call_at,
        workloads.last_call_at,
        {{ dbt.datediff('workloads.first_call_at', 'bounds.window_end_at', 'day') }} as history_days,
        least(
            {{ threshold('repatriation_min_days') }},
            {{ dbt.datediff('greatest(workloads.first_call_at, bounds.window_start_at)', 'bounds.window_end_at', 'hour') }} / 24.0
        )                                                                   as window_days,
        demand.stddev_gpu_s_per_hour / nullif(demand.mean_gpu_s_per_hour, 0) as demand_cov,
        greatest(1, ceil(demand.p95_gpu_s_per_hour / 3600.0 / {{ threshold('target_utilisation') }})) as gpus_needed,
        gpu_models.purchase_price_usd + gpu_models.server_overhead_usd_per_gpu as capex_per_gpu_usd,
        (gpu_models.purchase_price_usd + gpu_models.server_overhead_usd_per_gpu)
            / (gpu_models.useful_life_years * 12)                           as capex_per_gpu_month_usd,
        (gpu_models.idle_power_w + (gpu_models.tdp_w - gpu_models.idle_power_w) * {{ threshold('target_utilisation') }})
            / 1000.0 * {{ threshold('hours_per_month') }} * sites.usd_per_kwh * sites.pue
            + sites.colo_usd_per_kw_month * gpu_models.tdp_w / 1000.0
            + sites.ops_usd_per_gpu_month                                   as opex_per_gpu_month_usd
    from demand
    inner join workloads
        on workloads.provider = demand.provider
        and workloads.model = demand.model
        and workloads.application = demand.application
    cross join bounds
    left join {{ ref('gpu_models') }} as gpu_models
        on gpu_models.gpu_model = demand.gpu_model
    left join {{ ref('sites') }} as sites
        on sites.site = 'default'

),

final as (

    select
        *,
        window_cost_usd / nullif(window_days, 0) * 30.4375                          as monthly_cloud_cost_usd,
        gpus_needed * (capex_per_gpu_month_usd + opex_per_gpu_month_usd)           as monthly_onprem_cost_usd,
        gpus_needed * capex_per_gpu_usd + 12 * gpus_needed * opex_per_gpu_month_usd as onprem_first_year_tco_usd
    from economics

)

select
    provider,
    model,
    application,
    gpu_model,
    size_class,
    first_call_at,
    last_call_at,
    cast(history_days as integer)                                  as history_days,
    window_days,
    window_hours,
    demand_source,
    window_input_tokens,
    window_output_tokens,
    p95_tokens_per_hour,
    mean_gpu_s_per_hour,
    p95_gpu_s_per_hour,
    demand_cov,
    cast(gpus_needed as integer)                                   as gpus_needed,
    cast(window_cost_usd as decimal(38, 10))                       as window_cost_usd,
    cast(monthly_cloud_cost_usd as decimal(38, 10))                as monthly_cloud_cost_usd,
    cast(monthly_onprem_cost_usd as decimal(38, 10))               as monthly_onprem_cost_usd,
    cast(gpus_needed * capex_per_gpu_usd as decimal(38, 10))       as onprem_capex_usd,
    cast(gpus_needed * opex_per_gpu_month_usd as decimal(38, 10))  as onprem_opex_monthly_usd,
    cast(onprem_first_year_tco_usd as decimal(38, 10))             as onprem_first_year_tco_usd,
    case when monthly_cloud_cost_usd - gpus_needed * opex_per_gpu_month_usd > 0
         then gpus_needed * capex_per_gpu_usd / (monthly_cloud_cost_usd - gpus_needed * opex_per_gpu_month_usd)
    end                                                            as payback_months,
    12 * monthly_cloud_cost_usd / nullif(onprem_first_year_tco_usd, 0) as tco_ratio
from final
