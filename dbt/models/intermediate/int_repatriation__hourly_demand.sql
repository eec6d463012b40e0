-- Hourly GPU demand per repatriation workload over the trailing window (repatriation_min_days,
-- ending at the last day of that kind of workload's data). Two kinds of workload:
--   api                : provider × model × application of API traffic. Daily tokens and cost from
--                        the API usage data (complete; account_attribution gives the application),
--                        hour-of-day shape from traced calls (fct_llm_calls); a workload seen only
--                        in traces uses its calls. Batch usage is already priced at batch prices
--                        (int_llm_api_daily_cost), so batch traffic is compared at what it costs.
--                        gpu_hours_needed = (input_tokens / prefill_tokens_per_s
--                                            + output_tokens / decode_tokens_per_s) / 3600
--   cloud_gpu_instance : instance family × account of rented GPU instances in focus_costs
--                        (x_gpu_count known). gpu_hours_needed = ConsumedQuantity (instance-hours)
--                        × x_gpu_count, a multi-hour line spread evenly over its hours.
-- Every hour of the window is present for every workload (hours without demand are 0).
-- Throughput (api only): serving_throughput seed, longest matching model pattern; a measured
-- rate wins when the self-hosted request logs show that size class × GPU model saturated
-- (GPU-hours with busy_fraction ≥ repatriation_measured_min_busy, at least
-- repatriation_measured_min_gpu_hours of them; only hours whose every second has a utilisation
-- reading: an unmeasured hour (busy_fraction null) is not saturated, nor is its unread part):
--   measured_factor = Σ seed-modelled GPU-s of the requests in those GPU-hours
--                     ÷ Σ busy GPU-s of those GPU-hours (busy_fraction × observed_s)
--   prefill/decode tokens/s = seed rate × measured_factor, throughput_source 'measured'.
with calls as (

    select * from {{ ref('fct_llm_calls') }}
    where serving = 'api'

),

usage_daily as (

    select
        cost.usage_date                                   as day,
        cost.provider,
        cost.model,
        coalesce(attribution.application, 'unattributed') as application,
        sum(case when cost.token_type in ('output', 'output_audio', 'web_search', 'file_search') then 0 else cost.tokens end) as input_tokens,
        sum(case when cost.token_type in ('output', 'output_audio') then cost.tokens else 0 end)              as output_tokens,
        sum(cost.cost_usd)                                as cost_usd,
        sum(case when cost.is_batch then cost.cost_usd else 0 end) as batch_cost_usd
    from {{ ref('int_llm_api_daily_cost') }} as cost
    left join {{ ref('account_attribution') }} as attribution
        on attribution.provider = cost.provider
        and attribution.account_id = cost.account_id
    -- tool calls without a model (OpenAI file searches) are no model workload to place
    where cost.model is not null
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
        sum(cost_usd)                               as cost_usd,
        sum(case when is_batch then cost_usd else 0 end) as batch_cost_usd
    from calls
    group by all

),

calls_daily_totals as (

    select provider, model, application, cast(hour_at as date) as day,
           sum(input_tokens + output_tokens) as tokens
    from calls_hourly
    group by all

),

api_daily as (

    -- usage data where the workload has it (complete); traced calls otherwise
    select day, provider, model, application, input_tokens, output_tokens, cost_usd, batch_cost_usd,
           'usage' as demand_source
    from usage_daily
    union all
    select cast(hour_at as date), provider, model, application,
           sum(input_tokens), sum(output_tokens), sum(cost_usd), sum(batch_cost_usd), 'calls'
    from calls_hourly
    where not exists (
        select 1 from usage_daily
        where usage_daily.provider = calls_hourly.provider
          and usage_daily.model = calls_hourly.model
          and usage_daily.application = calls_hourly.application
    )
    group by all

),

instance_lines as (

    -- rented GPU instances: one row per billing line
    select
        lower(ProviderName)                                     as provider,
        coalesce(
            nullif(regexp_extract(ResourceType, '^((ml\.)?[a-z0-9]+)\.[a-z0-9-]+$', 1), ''),
            x_gpu_model || '×' || cast(x_gpu_count as varchar)) as instance_family,
        SubAccountId                                            as account_id,
        coalesce(x_application, SubAccountName, SubAccountId)   as application,
        x_gpu_model                                             as gpu_model,
        ChargePeriodStart                                       as start_at,
        greatest(1, {{ dbt.datediff('ChargePeriodStart', 'ChargePeriodEnd', 'hour') }}) as line_hours,
        ConsumedQuantity * x_gpu_count                          as gpu_hours,
        EffectiveCost                                           as cost_usd
    from {{ ref('focus_costs') }}
    where x_source_type = 'cloud_bill'
      and x_gpu_count is not null
      and ChargeCategory = 'Usage'
      and ConsumedUnit = 'Hours'
      and ConsumedQuantity is not null

),

instance_hourly as (

    select
        spread.provider,
        spread.instance_family,
        spread.account_id,
        spread.application,
        spread.gpu_model,
        line_hour.hour_at,
        spread.gpu_hours / spread.line_hours as gpu_hours,
        spread.cost_usd / spread.line_hours  as cost_usd
    from (
        select *, unnest(generate_series(0, line_hours - 1)) as hour_offset
        from instance_lines
    ) as spread
    cross join lateral (select spread.start_at + to_hours(spread.hour_offset) as hour_at) as line_hour

),

bounds as (

    -- each kind of workload ends its window at the last day of its own data: a billing export
    -- that runs later than the usage APIs (or the reverse) must not add empty days to the other
    select
        workload_type,
        end_day + interval 1 day                                                              as window_end_at,
        end_day + interval 1 day - to_days(cast({{ threshold('repatriation_min_days') }} as integer)) as window_start_at
    from (
        select 'api' as workload_type, cast(max(day) as timestamptz) as end_day from api_daily
        union all
        select 'cloud_gpu_instance', cast(max(cast(hour_at as date)) as timestamptz) from instance_hourly
    )
    where end_day is not null

),

hours as (

    select workload_type,
           unnest(generate_series(window_start_at, window_end_at - interval 1 hour, interval 1 hour)) as hour_at
    from bounds

),

api_workloads as (

    select
        provider,
        model,
        application,
        min(demand_source)                     as demand_source,
        cast(min(day) as timestamptz)          as first_demand_at,
        cast(max(day) as timestamptz)          as last_demand_at
    from api_daily
    group by provider, model, application

),

seed_throughput as (

    select
        api_workloads.provider,
        api_workloads.model,
        api_workloads.application,
        serving_throughput.gpu_model,
        serving_throughput.size_class,
        serving_throughput.prefill_tokens_per_s,
        serving_throughput.decode_tokens_per_s,
        row_number() over (
            partition by api_workloads.provider, api_workloads.model, api_workloads.application
            order by length(serving_throughput.model_pattern) desc, serving_throughput.gpu_model
        ) as match_rank
    from api_workloads
    inner join {{ ref('serving_throughput') }} as serving_throughput
        on lower(api_workloads.model) like serving_throughput.model_pattern

),

self_hosted_gpu_requests as (

    -- one row per self-hosted request × GPU serving it, in its start hour
    select
        requests.request_id,
        lower(requests.model)                                       as model_key,
        greatest(requests.gpu_count, 1)                             as gpu_count,
        requests.prompt_tokens,
        requests.completion_tokens,
        gpu.gpu_uuid,
        {{ dbt.date_trunc('hour', 'requests.started_at') }}         as hour_at
    from {{ ref('stg_self_hosted__requests') }} as requests
    cross join lateral (select unnest(requests.gpu_uuids) as gpu_uuid) as gpu

),

self_hosted_classed as (

    select
        r.*,
        gpu_hours.gpu_model,
        gpu_hours.busy_fraction * gpu_hours.observed_s  as busy_s,
        serving_throughput.size_class,
        (r.prompt_tokens / serving_throughput.prefill_tokens_per_s
         + r.completion_tokens / serving_throughput.decode_tokens_per_s) / r.gpu_count as modelled_gpu_s,
        row_number() over (
            partition by r.request_id, r.gpu_uuid
            order by length(serving_throughput.model_pattern) desc
        ) as match_rank
    from self_hosted_gpu_requests as r
    inner join {{ ref('fct_gpu_hours') }} as gpu_hours
        on gpu_hours.gpu_uuid = r.gpu_uuid
        and gpu_hours.hour_at = r.hour_at
    inner join {{ ref('serving_throughput') }} as serving_throughput
        on r.model_key like serving_throughput.model_pattern
        and serving_throughput.gpu_model = gpu_hours.gpu_model
    where gpu_hours.busy_fraction >= {{ threshold('repatriation_measured_min_busy') }}
      and gpu_hours.unmeasured_s = 0

),

saturated_gpu_hours as (

    select distinct size_class, gpu_model, gpu_uuid, hour_at, busy_s
    from self_hosted_classed
    where match_rank = 1

),

measured_throughput as (

    select
        modelled.size_class,
        modelled.gpu_model,
        modelled.modelled_gpu_s / nullif(busy.busy_s, 0) as measured_factor,
        busy.gpu_hours                                   as saturated_gpu_hours
    from (
        select size_class, gpu_model, sum(modelled_gpu_s) as modelled_gpu_s
        from self_hosted_classed
        where match_rank = 1
        group by size_class, gpu_model
    ) as modelled
    inner join (
        select size_class, gpu_model, sum(busy_s) as busy_s, count(*) as gpu_hours
        from saturated_gpu_hours
        group by size_class, gpu_model
    ) as busy
        on busy.size_class = modelled.size_class
        and busy.gpu_model = modelled.gpu_model
    where busy.gpu_hours >= {{ threshold('repatriation_measured_min_gpu_hours') }}

),

throughput as (

    select
        seed_throughput.provider,
        seed_throughput.model,
        seed_throughput.application,
        seed_throughput.gpu_model,
        seed_throughput.size_class,
        seed_throughput.prefill_tokens_per_s * coalesce(measured_throughput.measured_factor, 1) as prefill_tokens_per_s,
        seed_throughput.decode_tokens_per_s * coalesce(measured_throughput.measured_factor, 1)  as decode_tokens_per_s,
        case when measured_throughput.measured_factor is not null then 'measured' else 'seed' end as throughput_source
    from seed_throughput
    left join measured_throughput
        on measured_throughput.size_class = seed_throughput.size_class
        and measured_throughput.gpu_model = seed_throughput.gpu_model
    where seed_throughput.match_rank = 1

),

api_hourly as (

    -- the day's tokens spread over its hours in the proportions the traced calls show (evenly
    -- when that day has no traced calls)
    select
        api_workloads.provider,
        api_workloads.model,
        api_workloads.application,
        hours.hour_at,
        coalesce(api_daily.input_tokens, 0) * coalesce(
            (calls_hourly.input_tokens + calls_hourly.output_tokens) * 1.0 / nullif(calls_daily_totals.tokens, 0),
            case when calls_daily_totals.tokens > 0 then 0 else 1 / 24.0 end)  as input_tokens,
        coalesce(api_daily.output_tokens, 0) * coalesce(
            (calls_hourly.input_tokens + calls_hourly.output_tokens) * 1.0 / nullif(calls_daily_totals.tokens, 0),
            case when calls_daily_totals.tokens > 0 then 0 else 1 / 24.0 end)  as output_tokens,
        coalesce(api_daily.cost_usd, 0) / 24.0                                  as cost_usd,
        coalesce(api_daily.batch_cost_usd, 0) / 24.0                            as batch_cost_usd
    from api_workloads
    inner join hours
        on hours.workload_type = 'api'
    left join api_daily
        on api_daily.provider = api_workloads.provider
        and api_daily.model = api_workloads.model
        and api_daily.application = api_workloads.application
        and api_daily.day = cast(hours.hour_at as date)
    left join calls_daily_totals
        on calls_daily_totals.provider = api_workloads.provider
        and calls_daily_totals.model = api_workloads.model
        and calls_daily_totals.application = api_workloads.application
        and calls_daily_totals.day = cast(hours.hour_at as date)
    left join calls_hourly
        on calls_hourly.provider = api_workloads.provider
        and calls_hourly.model = api_workloads.model
        and calls_hourly.application = api_workloads.application
        and calls_hourly.hour_at = hours.hour_at

),

instance_workloads as (

    select
        provider,
        instance_family,
        account_id,
        arg_max(application, cost_usd) as application,
        arg_max(gpu_model, gpu_hours)  as gpu_model,
        min(hour_at)                   as first_demand_at,
        max(hour_at)                   as last_demand_at
    from instance_hourly
    group by provider, instance_family, account_id

),

instance_by_hour as (

    select provider, instance_family, account_id, hour_at,
           sum(gpu_hours) as gpu_hours, sum(cost_usd) as cost_usd
    from instance_hourly
    group by all

)

select
    'api'                                                   as workload_type,
    'api|' || api_hourly.provider || '|' || api_hourly.model || '|' || api_hourly.application as workload_id,
    api_hourly.provider,
    api_hourly.model,
    api_hourly.application,
    cast(null as varchar)                                   as account_id,
    cast(null as varchar)                                   as instance_family,
    api_hourly.hour_at,
    api_workloads.first_demand_at,
    api_workloads.demand_source,
    throughput.gpu_model,
    throughput.size_class,
    throughput.prefill_tokens_per_s,
    throughput.decode_tokens_per_s,
    coalesce(throughput.throughput_source, 'none')          as throughput_source,
    api_hourly.input_tokens,
    api_hourly.output_tokens,
    (api_hourly.input_tokens / throughput.prefill_tokens_per_s
     + api_hourly.output_tokens / throughput.decode_tokens_per_s) / 3600.0 as gpu_hours_needed,
    api_hourly.cost_usd,
    api_hourly.batch_cost_usd
from api_hourly
inner join api_workloads
    on api_workloads.provider = api_hourly.provider
    and api_workloads.model = api_hourly.model
    and api_workloads.application = api_hourly.application
left join throughput
    on throughput.provider = api_hourly.provider
    and throughput.model = api_hourly.model
    and throughput.application = api_hourly.application

union all

select
    'cloud_gpu_instance',
    'cloud_gpu_instance|' || w.provider || '|' || w.instance_family || '|' || w.account_id,
    w.provider,
    w.instance_family,
    w.application,
    w.account_id,
    w.instance_family,  -- positional: it fills the model column above too -- noqa: AL08
    hours.hour_at,
    w.first_demand_at,
    'billing',
    w.gpu_model,
    cast(null as varchar),
    cast(null as double),
    cast(null as double),
    'gpu_hours',
    cast(null as double),
    cast(null as double),
    coalesce(h.gpu_hours, 0),
    coalesce(h.cost_usd, 0),
    0
from instance_workloads as w
inner join hours
    on hours.workload_type = 'cloud_gpu_instance'
left join instance_by_hour as h
    on h.provider = w.provider
    and h.instance_family = w.instance_family
    and h.account_id = w.account_id
    and h.hour_at = hours.hour_at
