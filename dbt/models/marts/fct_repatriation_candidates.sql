-- One row per API workload (provider × model × application): should it move to owned GPUs?
--   score   = 100 × (0.7 × min(tco_ratio / repatriation_tco_trigger, 1)
--                    + 0.3 × (1 − min(demand_cov / repatriation_max_cov, 1)))
--   verdict = 'insufficient data' when history_days < repatriation_min_days;
--             'candidate' when tco_ratio ≥ trigger and demand_cov ≤ max_cov;
--             'watch'     when tco_ratio ≥ trigger × repatriation_watch_fraction;
--             'keep'      otherwise.
with workloads as (

    select * from {{ ref('int_repatriation__workloads') }}

),

rules as (

    select
        {{ threshold('repatriation_tco_trigger') }}    as tco_trigger,
        {{ threshold('repatriation_watch_fraction') }} as watch_fraction,
        {{ threshold('repatriation_max_cov') }}        as max_cov,
        {{ threshold('repatriation_min_days') }}       as min_days

),

scored as (

    select
        workloads.*,
        rules.tco_trigger,
        rules.max_cov,
        rules.min_days,
        round(100 * (
            0.7 * least(coalesce(workloads.tco_ratio, 0) / rules.tco_trigger, 1)
            + 0.3 * (1 - least(coalesce(workloads.demand_cov, rules.max_cov) / rules.max_cov, 1))
        ), 1) as score,
        case
            when workloads.history_days < rules.min_days then 'insufficient data'
            when workloads.tco_ratio >= rules.tco_trigger
                 and workloads.demand_cov <= rules.max_cov then 'candidate'
            when workloads.tco_ratio >= rules.tco_trigger * rules.watch_fraction then 'watch'
            else 'keep'
        end as verdict
    from workloads
    cross join rules

)

select
    provider,
    model,
    application,
    history_days,
    window_days,
    demand_source,
    window_input_tokens,
    window_output_tokens,
    p95_tokens_per_hour,
    demand_cov,
    gpu_model,
    size_class,
    gpus_needed,
    monthly_cloud_cost_usd,
    monthly_onprem_cost_usd,
    onprem_capex_usd,
    onprem_first_year_tco_usd,
    payback_months,
    tco_ratio,
    score,
    verdict,
    concat_ws('; ',
        case when history_days < min_days
             then 'only ' || cast(history_days as varchar) || ' days of history (< ' || cast(cast(min_days as integer) as varchar) || ')' end,
        'tco_ratio ' || coalesce(cast(round(tco_ratio, 2) as varchar), 'n/a')
            || case when tco_ratio >= tco_trigger then ' ≥ ' else ' < ' end
            || cast(tco_trigger as varchar),
        'hourly demand cov ' || coalesce(cast(round(demand_cov, 2) as varchar), 'n/a')
            || case when demand_cov <= max_cov then ' (steady enough)' else ' (too bursty)' end,
        cast(gpus_needed as varchar) || '× ' || coalesce(gpu_model, '?') || ' at p95 demand',
        case when payback_months is not null
             then 'payback ' || cast(round(payback_months, 1) as varchar) || ' months'
             else 'no payback (on-prem opex ≥ cloud cost)' end
    ) as reasons
from scored
