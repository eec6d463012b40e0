-- One row per workload (api: provider × model × application; cloud_gpu_instance: instance family
-- × account): should it move to owned GPUs? Demand statistics come from int_repatriation__workloads.
--   sizing_utilisation        = target_utilisation (api); 1 for rented instances, whose GPU-hours
--                               already are GPUs held (replaced one for one)
--   Owned GPUs serve a model in whole replicas (a 70B-class model needs its weights and KV cache in
--   GPU memory: 4 H100 however light the traffic), so api workloads are sized in replicas:
--   gpus_per_replica          = int_repatriation__replica_sizes for the workload's size class × GPU
--                               model (measured from the self-hosted logs, else the serving_replicas
--                               seed); 1 for rented instances
--   spare_replicas            = repatriation_spare_replicas (api: N+1, the API provider absorbed
--                               failures and upgrades; owned replicas must too); 0 for rented instances
--   replicas_needed           = max(1, ceil(p95 hourly GPU-hours needed / (sizing_utilisation ×
--                               gpus_per_replica))) + spare_replicas
--   gpus_needed               = replicas_needed × gpus_per_replica
--   capex_per_gpu_usd         = purchase_price_usd + server_overhead_usd_per_gpu   (gpu_models)
--   capex_per_gpu_month_usd   = capex_per_gpu_usd / (useful_life_years × 12)
--   opex_per_gpu_month_usd    = 'fct_gpu_hours': mean (cost_energy + cost_facility + cost_ops) per
--                               measured GPU-hour of that GPU model × hours_per_month (not hours
--                               whose energy was modelled for seconds without a utilisation reading);
--                               'assumptions' (no owned GPU of that model measured):
--                               (idle_w + (tdp_w − idle_w) × target_utilisation) / 1000 × hours_per_month
--                               × usd_per_kwh × pue + colo_usd_per_kw_month × tdp_w / 1000 + ops_usd_per_gpu_month
--                               (site 'default')
--   monthly_onprem_cost_usd   = gpus × (capex_per_gpu_month + opex_per_gpu_month)
--   onprem_capex_usd          = gpus × capex_per_gpu_usd
--   onprem_acquisition_tco_usd= onprem_capex_usd + 12 × gpus × opex_per_gpu_month   (first year)
--   monthly_savings_usd       = monthly_cloud_cost_usd − monthly_onprem_cost_usd
--   payback_months            = onprem_capex_usd / (monthly_cloud − gpus × opex_per_gpu_month); null if ≤ 0
--   tco_ratio                 = 12 × monthly_cloud_cost_usd / onprem_acquisition_tco_usd
--   sensitivity (s = repatriation_sensitivity, 0.2): payback with gpus re-sized in whole replicas at
--                               throughput × (1 ± s) (p95 / (1 ± s)), and with monthly cloud cost × (1 ± s)
--   score                     = round(score_tco_points + score_steadiness_points, 1)
--     score_tco_points        = 70 × min(tco_ratio / repatriation_tco_trigger, 1)
--     score_steadiness_points = 30 × (1 − min(demand_cov / repatriation_max_cov, 1))
--   verdict                   = 'insufficient data' if history_days < repatriation_min_days or no GPU
--                               model or replica size to size on; 'candidate' if tco_ratio ≥ trigger and
--                               demand_cov ≤ max_cov; 'watch' if tco_ratio ≥ trigger × watch_fraction; else 'keep'
with workloads as (

    select * from {{ ref('int_repatriation__workloads') }}

),

rules as (

    select
        {{ threshold('repatriation_tco_trigger') }}    as tco_trigger,
        {{ threshold('repatriation_watch_fraction') }} as watch_fraction,
        {{ threshold('repatriation_max_cov') }}        as max_cov,
        {{ threshold('repatriation_min_days') }}       as min_days,
        {{ threshold('target_utilisation') }}          as target_utilisation,
        {{ threshold('hours_per_month') }}             as hours_per_month,
        {{ threshold('repatriation_sensitivity') }}    as sensitivity,
        {{ threshold('repatriation_spare_replicas') }} as spare_replicas_api

),

measured_opex as (

    select
        gpu_model,
        avg(cost_energy_usd + cost_facility_usd + cost_ops_usd) as opex_per_gpu_hour_usd
    from {{ ref('fct_gpu_hours') }}
    where gpu_model is not null
      -- energy modelled for seconds without a utilisation reading assumed idle power: not measured
      and not coalesce(unmeasured_s > 0 and energy_modelled_s > 0, false)
    group by gpu_model

),

list_prices as (

    select gpu_model, min(hourly_price_per_gpu_usd) as list_price_per_gpu_hour_usd
    from {{ ref('dim_cloud_gpu_list_prices') }}
    where usage_type = 'OnDemand'
      and gpu_model is not null
    group by gpu_model

),

unit_costs as (

    select
        workloads.*,
        rules.*,
        case when workloads.workload_type = 'api' then rules.target_utilisation else 1.0 end as sizing_utilisation,
        case when workloads.workload_type = 'api' then replica_sizes.gpus_per_replica else 1 end as gpus_per_replica,
        case when workloads.workload_type = 'api' then replica_sizes.replica_size_source else 'rented_instances' end
                                                                            as replica_size_source,
        case when workloads.workload_type = 'api' then rules.spare_replicas_api else 0 end as spare_replicas,
        replica_sizes.measured_model,
        replica_sizes.measured_requests,
        gpu_models.purchase_price_usd + gpu_models.server_overhead_usd_per_gpu as capex_per_gpu_usd,
        (gpu_models.purchase_price_usd + gpu_models.server_overhead_usd_per_gpu)
            / (gpu_models.useful_life_years * 12)                           as capex_per_gpu_month_usd,
        case when measured_opex.opex_per_gpu_hour_usd is not null
             then cast(measured_opex.opex_per_gpu_hour_usd as double) * rules.hours_per_month
             else (gpu_models.idle_power_w + (gpu_models.tdp_w - gpu_models.idle_power_w) * rules.target_utilisation)
                  / 1000.0 * rules.hours_per_month * sites.usd_per_kwh * sites.pue
                  + sites.colo_usd_per_kw_month * gpu_models.tdp_w / 1000.0
                  + sites.ops_usd_per_gpu_month
        end                                                                 as opex_per_gpu_month_usd,
        case when measured_opex.opex_per_gpu_hour_usd is not null then 'fct_gpu_hours'
             when gpu_models.gpu_model is not null then 'assumptions' end   as onprem_cost_source,
        cast(list_prices.list_price_per_gpu_hour_usd as double)             as cloud_gpu_list_price_per_hour_usd,
        cast(workloads.window_cost_usd as double) / nullif(workloads.window_days, 0) * 30.4375 as monthly_cloud_usd
    from workloads
    cross join rules
    left join {{ assumption_seed('gpu_models') }} as gpu_models
        on gpu_models.gpu_model = workloads.gpu_model
    left join {{ assumption_seed('sites') }} as sites
        on sites.site = 'default'
    left join measured_opex
        on measured_opex.gpu_model = workloads.gpu_model
    left join list_prices
        on list_prices.gpu_model = workloads.gpu_model
    left join {{ ref('int_repatriation__replica_sizes') }} as replica_sizes
        on replica_sizes.size_class = workloads.size_class
        and replica_sizes.gpu_model = workloads.gpu_model

),

replicas as (

    select
        *,
        case when capex_per_gpu_usd is not null and gpus_per_replica is not null then {{ repatriation_replicas('p95_gpu_hours_per_hour') }} end as replicas,
        case when capex_per_gpu_usd is not null and gpus_per_replica is not null then {{ repatriation_replicas('p95_gpu_hours_per_hour / (1 + sensitivity)') }} end as replicas_throughput_plus,
        case when capex_per_gpu_usd is not null and gpus_per_replica is not null then {{ repatriation_replicas('p95_gpu_hours_per_hour / (1 - sensitivity)') }} end as replicas_throughput_minus
    from unit_costs

),

sized as (

    select
        *,
        replicas * gpus_per_replica                  as gpus,
        replicas_throughput_plus * gpus_per_replica  as gpus_throughput_plus,
        replicas_throughput_minus * gpus_per_replica as gpus_throughput_minus
    from replicas

),

economics as (

    select
        *,
        gpus * (capex_per_gpu_month_usd + opex_per_gpu_month_usd)          as monthly_onprem_usd,
        gpus * capex_per_gpu_usd                                           as capex_usd,
        gpus * capex_per_gpu_usd + 12 * gpus * opex_per_gpu_month_usd      as acquisition_tco_usd,
        {{ repatriation_payback('gpus', 'monthly_cloud_usd') }}                          as payback,
        {{ repatriation_payback('gpus_throughput_plus', 'monthly_cloud_usd') }}          as payback_tp,
        {{ repatriation_payback('gpus_throughput_minus', 'monthly_cloud_usd') }}         as payback_tm,
        {{ repatriation_payback('gpus', 'monthly_cloud_usd * (1 + sensitivity)') }}      as payback_pp,
        {{ repatriation_payback('gpus', 'monthly_cloud_usd * (1 - sensitivity)') }}      as payback_pm
    from sized

),

scored as (

    select
        *,
        12 * monthly_cloud_usd / nullif(acquisition_tco_usd, 0)            as tco,
        70 * least(coalesce(12 * monthly_cloud_usd / nullif(acquisition_tco_usd, 0), 0) / tco_trigger, 1) as tco_points,
        30 * (1 - least(coalesce(demand_cov, max_cov) / max_cov, 1))       as steadiness_points
    from economics

),

verdicts as (

    select
        *,
        round(tco_points + steadiness_points, 1) as score,
        case
            when history_days < min_days or gpus is null then 'insufficient data'
            when tco >= tco_trigger and demand_cov <= max_cov then 'candidate'
            when tco >= tco_trigger * watch_fraction then 'watch'
            else 'keep'
        end as verdict
    from scored

)

select
    workload_id,
    workload_type,
    provider,
    model,
    application,
    account_id,
    instance_family,
    history_days,
    window_days,
    demand_source,
    window_input_tokens,
    window_output_tokens,
    p95_tokens_per_hour,
    window_gpu_hours_needed,
    mean_gpu_hours_per_hour,
    p10_gpu_hours_per_hour,
    p90_gpu_hours_per_hour,
    p95_gpu_hours_per_hour,
    demand_cov,
    gpu_model,
    size_class,
    prefill_tokens_per_s,
    decode_tokens_per_s,
    throughput_source,
    sizing_utilisation,
    cast(gpus_per_replica as integer)                               as gpus_per_replica,
    replica_size_source,
    cast(spare_replicas as integer)                                 as spare_replicas,
    cast(replicas as integer)                                       as replicas_needed,
    cast(gpus as integer)                                           as gpus_needed,
    batch_cost_share,
    cast(monthly_cloud_usd as decimal(38, 10))                      as monthly_cloud_cost_usd,
    cast(cloud_gpu_list_price_per_hour_usd as decimal(38, 10))      as cloud_gpu_list_price_per_hour_usd,
    cast(gpus * cloud_gpu_list_price_per_hour_usd * hours_per_month as decimal(38, 10)) as monthly_cloud_gpu_rent_usd,
    onprem_cost_source,
    cast(capex_per_gpu_usd as decimal(38, 10))                      as capex_per_gpu_usd,
    cast(opex_per_gpu_month_usd as decimal(38, 10))                 as opex_per_gpu_month_usd,
    cast(monthly_onprem_usd as decimal(38, 10))                     as monthly_onprem_cost_usd,
    cast(capex_usd as decimal(38, 10))                              as onprem_capex_usd,
    cast(acquisition_tco_usd as decimal(38, 10))                    as onprem_acquisition_tco_usd,
    cast(monthly_cloud_usd - monthly_onprem_usd as decimal(38, 10)) as monthly_savings_usd,
    -- ratios and months rounded: the inputs are estimates, more digits would be noise
    round(payback, 4)                                               as payback_months,
    round(payback_tp, 4)                                            as payback_months_throughput_plus20,
    round(payback_tm, 4)                                            as payback_months_throughput_minus20,
    round(payback_pp, 4)                                            as payback_months_price_plus20,
    round(payback_pm, 4)                                            as payback_months_price_minus20,
    round(tco, 6)                                                   as tco_ratio,
    tco_trigger                                                     as tco_trigger,
    round(tco_points, 4)                                            as score_tco_points,
    round(steadiness_points, 4)                                     as score_steadiness_points,
    score,
    verdict,
    concat_ws('; ',
        case when history_days < min_days
             then 'only ' || cast(history_days as varchar) || ' days of history (< ' || cast(cast(min_days as integer) as varchar) || ')' end,
        case when capex_per_gpu_usd is null then 'no GPU model to size it on (serving_throughput / gpu_models seeds)'
             when gpus is null then 'no replica size for ' || coalesce(size_class, '?') || ' on ' || gpu_model
                                    || ' (serving_replicas seed)' end,
        'tco_ratio ' || coalesce(cast(round(tco, 2) as varchar), 'n/a')
            || case when tco >= tco_trigger then ' ≥ ' else ' < ' end || 'trigger ' || cast(tco_trigger as varchar)
            || ' (annual cloud $' || cast(cast(round(12 * monthly_cloud_usd) as bigint) as varchar)
            || ' vs first-year on-prem $' || coalesce(cast(cast(round(acquisition_tco_usd) as bigint) as varchar), 'n/a') || ')',
        'hourly demand cov ' || coalesce(cast(round(demand_cov, 2) as varchar), 'n/a')
            || case when demand_cov <= max_cov then ' (steady enough' else ' (too bursty' end
            || ', p10/p90 ' || coalesce(cast(round(p10_gpu_hours_per_hour, 2) as varchar), 'n/a') || '/'
            || coalesce(cast(round(p90_gpu_hours_per_hour, 2) as varchar), 'n/a') || ' GPU-h per hour)',
        case when workload_type = 'api' and gpus is not null then
            {{ number_text('replicas', 0) }} || case when replicas = 1 then ' replica × ' else ' replicas × ' end
            || {{ number_text('gpus_per_replica', 0) }} || ' ' || gpu_model || ' = ' || {{ number_text('gpus', 0) }} || ' GPUs ('
            || size_class || ' class, ' || {{ number_text('gpus_per_replica', 0) }}
            || case when gpus_per_replica = 1 then ' GPU per replica ' else ' GPUs per replica ' end
            || case when replica_size_source = 'self_hosted_logs'
                    then 'as the self-hosted logs serve it: ' || measured_model || ', '
                         || cast(measured_requests as varchar) || ' requests'
                    else 'from serving_replicas: weights + KV cache in ' || gpu_model || ' memory' end
            || '; ' || {{ number_text('replicas - spare_replicas', 0) }} || ' for p95 demand '
            || {{ number_text('p95_gpu_hours_per_hour', 2) }} || ' GPU-h/h at ' || cast(sizing_utilisation as varchar)
            || ' utilisation' || case when spare_replicas > 0 then ' + ' || {{ number_text('spare_replicas', 0) }} || ' spare' else '' end
            || ', ' || throughput_source || ' throughput)'
             when workload_type <> 'api' then
            coalesce({{ number_text('gpus', 0) }}, '?') || '× ' || coalesce(gpu_model, '?') || ' at p95 demand '
            || coalesce({{ number_text('p95_gpu_hours_per_hour', 2) }}, 'n/a') || ' GPU-h/h (rented GPUs replaced one for one)'
        end,
        case when onprem_cost_source is not null then 'on-prem opex from ' || onprem_cost_source end,
        case when batch_cost_share > 0 then cast(cast(round(100 * batch_cost_share) as integer) as varchar) || ' % of cost is batch traffic, compared at batch prices' end,
        case when monthly_cloud_usd - monthly_onprem_usd >= 0
             then 'on-prem saves $' || cast(cast(round(monthly_cloud_usd - monthly_onprem_usd) as bigint) as varchar) || ' a month'
             when monthly_cloud_usd - monthly_onprem_usd < 0
             then 'on-prem costs $' || cast(cast(round(monthly_onprem_usd - monthly_cloud_usd) as bigint) as varchar) || ' a month more' end,
        case when payback is not null
             then 'payback ' || cast(round(payback, 1) as varchar) || ' months ('
                  || cast(round(least(payback_tp, payback_pp), 1) as varchar) || '–'
                  || case when payback_tm is null or payback_pm is null then 'never'
                          else cast(round(greatest(payback_tm, payback_pm), 1) as varchar) end || ' at ±'
                  || cast(cast(100 * sensitivity as integer) as varchar) || ' % throughput / price)'
             when gpus is not null then 'no payback (on-prem opex ≥ cloud cost)' end
    ) as reasons
from verdicts
