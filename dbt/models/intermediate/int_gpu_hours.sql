-- One row per GPU × hour with its fully loaded owned cost.
--   cost_capex_usd    = (purchase_price_usd + server_overhead_usd_per_gpu) / (useful_life_years × 8760)
--   cost_energy_usd   = energy_kwh × usd_per_kwh                         (IT energy, measured)
--   cost_facility_usd = energy_kwh × (pue − 1) × usd_per_kwh             (cooling / losses)
--                       + colo_usd_per_kw_month × tdp_w / 1000 / hours_per_month (space + power capacity)
--   cost_ops_usd      = ops_usd_per_gpu_month / hours_per_month
--   cost_idle_usd     = cost_total_usd × (1 − busy_fraction): the idle share, a line of its own
--                       (already inside cost_total_usd, never added on top of it)
-- busy_fraction = Σ busy_s / Σ counted_s (SM activity where present, else utilisation);
-- busy_source   = 'gpu_util' if any interval of the hour fell back to coarse utilisation, else 'sm_active'.
-- energy: measured intervals (counter / power); intervals with neither (e.g. a trace with only
-- utilisation) are modelled as idle_power_w + (tdp_w − idle_power_w) × busy, counted in energy_modelled_s.
-- Fixed costs (capex, colo, ops) are charged for every hour that has samples.
-- gpu_models and sites go through assumption_seed(): `aispend whatif` overrides apply here.
with intervals as (

    select * from {{ ref('int_gpu_samples__intervals') }}

),

hourly as (

    select
        gpu_uuid,
        hour_at,
        max(host)                 as host,
        max(gpu_name)             as gpu_name,
        max(gpu_index)            as gpu_index,
        count(*)                  as intervals,
        sum(counted_s)            as observed_s,
        sum(busy_s)               as busy_s,
        sum(case when busy_s is not null then counted_s end) as busy_observed_s,
        max(case when busy_source = 'gpu_util' then 1 else 0 end) as any_coarse,
        max(busy_source)          as any_busy_source,
        sum(energy_j)             as metered_energy_j,
        sum(case when energy_j is null then counted_s else 0 end) as energy_modelled_s,
        sum(case when energy_j is null then coalesce(busy_s, 0) else 0 end) as modelled_busy_s,
        cast(sum(case when is_counter_reset then 1 else 0 end) as bigint) as counter_resets,
        cast(sum(case when is_gap then 1 else 0 end) as bigint) as gaps,
        sum(case when energy_method = 'power' then counted_s else 0 end) as power_estimated_s
    from intervals
    group by gpu_uuid, hour_at

),

gpu_model_match as (

    select
        hourly.gpu_uuid,
        hourly.hour_at,
        gpu_models.gpu_model,
        row_number() over (
            partition by hourly.gpu_uuid, hourly.hour_at
            order by length(gpu_models.nvml_name_pattern) desc
        ) as match_rank
    from hourly
    inner join {{ ref('gpu_models') }} as gpu_models
        on hourly.gpu_name like gpu_models.nvml_name_pattern

),

enriched as (

    select
        hourly.*,
        gpu_model_match.gpu_model,
        coalesce(host_sites.site, 'default')          as site,
        host_sites.team,
        host_sites.application,
        gpu_models.purchase_price_usd,
        gpu_models.server_overhead_usd_per_gpu,
        gpu_models.useful_life_years,
        gpu_models.tdp_w,
        gpu_models.idle_power_w,
        sites.usd_per_kwh,
        sites.pue,
        sites.colo_usd_per_kw_month,
        sites.ops_usd_per_gpu_month
    from hourly
    left join gpu_model_match
        on gpu_model_match.gpu_uuid = hourly.gpu_uuid
        and gpu_model_match.hour_at = hourly.hour_at
        and gpu_model_match.match_rank = 1
    left join {{ assumption_seed('gpu_models') }} as gpu_models
        on gpu_models.gpu_model = gpu_model_match.gpu_model
    left join {{ ref('host_sites') }} as host_sites
        on host_sites.host = hourly.host
    left join {{ assumption_seed('sites') }} as sites
        on sites.site = coalesce(host_sites.site, 'default')

),

energy as (

    select
        *,
        coalesce(metered_energy_j, 0)
            + case when energy_modelled_s > 0
                   then idle_power_w * energy_modelled_s + (tdp_w - idle_power_w) * modelled_busy_s
                   else 0 end                                             as energy_j
    from enriched

),

costed as (

    select
        *,
        energy_j / 3600000.0                                              as energy_kwh,
        least(busy_s / nullif(busy_observed_s, 0), 1.0)                   as busy_fraction,
        case when any_coarse = 1 then 'gpu_util' else any_busy_source end as busy_source,
        cast((purchase_price_usd + server_overhead_usd_per_gpu)
             / (useful_life_years * 8760) as decimal(38, 10))             as cost_capex_usd,
        cast(energy_j / 3600000.0 * usd_per_kwh as decimal(38, 10))       as cost_energy_usd,
        cast(energy_j / 3600000.0 * (pue - 1) * usd_per_kwh
             + colo_usd_per_kw_month * tdp_w / 1000.0 / {{ threshold('hours_per_month') }}
             as decimal(38, 10))                                          as cost_facility_usd,
        cast(ops_usd_per_gpu_month / {{ threshold('hours_per_month') }} as decimal(38, 10)) as cost_ops_usd
    from energy

)

select
    gpu_uuid,
    hour_at,
    host,
    site,
    gpu_index,
    gpu_name,
    gpu_model,
    team,
    application,
    intervals,
    observed_s,
    busy_fraction,
    energy_kwh,
    energy_kwh * 1000.0 * 3600.0 / nullif(observed_s, 0)               as avg_power_w,
    busy_source,
    counter_resets,
    gaps,
    power_estimated_s,
    energy_modelled_s,
    cost_capex_usd,
    cost_energy_usd,
    cost_facility_usd,
    cost_ops_usd,
    cast(cost_capex_usd + cost_energy_usd + cost_facility_usd + cost_ops_usd as decimal(38, 10)) as cost_total_usd,
    cast((cost_capex_usd + cost_energy_usd + cost_facility_usd + cost_ops_usd)
         * (1 - coalesce(busy_fraction, 0)) as decimal(38, 10))        as cost_idle_usd
from costed
