-- One row per GPU × hour with its fully loaded owned cost.
--   cost_capex_usd    = (purchase_price_usd + server_overhead_usd_per_gpu) / (useful_life_years × 8760)
--   cost_energy_usd   = energy_kwh × usd_per_kwh                         (IT energy, measured)
--   cost_facility_usd = energy_kwh × (pue − 1) × usd_per_kwh             (cooling / losses)
--                       + colo_usd_per_kw_month × tdp_w / 1000 / hours_per_month (space + power capacity)
--   cost_ops_usd      = ops_usd_per_gpu_month / hours_per_month
-- The total splits into three lines, each already inside cost_total_usd (never added on top):
--   cost_unmeasured_usd = cost_total_usd × unmeasured_s / observed_s: seconds with no busy reading
--   cost_idle_usd       = cost_total_usd × measured_s / observed_s × (1 − busy_fraction)
--   cost_busy_usd       = cost_total_usd − cost_idle_usd − cost_unmeasured_usd
--   so busy + idle + unmeasured = total exactly. Unknown is neither busy nor idle: an hour with no
--   busy reading at all has busy_fraction, cost_busy_usd and cost_idle_usd null and its whole cost
--   in cost_unmeasured_usd (DuckDB's least() skips nulls, so least(null, 1.0) would read 100 % busy).
-- busy_fraction = Σ busy_s / measured_s, over the seconds WITH a reading (SM activity where present,
--                 else utilisation); null when the hour has none.
-- busy_source   = the coarsest signal any interval of the hour used: 'gpu_util' (utilisation),
--                 else 'gr_engine_active' (DCGM graphics-engine activity, e.g. a MIG GPU under
--                 dcgm-exporter's default counters), else 'sm_active'; 'unmeasured' when no
--                 interval had a reading.
-- unparsed_values = exporter values skipped in the hour (metrics aispend does not read, printed
--                 as text such as "ERROR - FAILED TO CONVERT TO STRING").
-- unmeasured_reason (unmeasured_s > 0): 'mig_mode_no_utilisation' when the GPU was in MIG mode
--                 (NVML answers NotSupported for its utilisation; per-instance activity is not
--                 ingested), else 'no_utilisation_reading' (the source gave neither SM activity nor
--                 utilisation).
-- energy: measured intervals (counter / power); intervals with neither (e.g. a trace with only
-- utilisation) are modelled as idle_power_w + (tdp_w − idle_power_w) × busy, counted in energy_modelled_s
-- (seconds with neither energy nor a busy reading get idle power: a floor, not a measurement).
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
        -- two sums, not observed_s minus one: an hour fully (un)measured gets an exact 0
        sum(case when busy_s is not null then counted_s else 0 end) as measured_s,
        sum(case when busy_s is null then counted_s else 0 end) as unmeasured_s,
        max(case when busy_s is null and is_mig_mode then 1 else 0 end) as any_unmeasured_mig,
        -- 3 gpu_util, 2 gr_engine_active, 1 sm_active, 0 no reading: the hour is as coarse as its coarsest interval
        max(case busy_source when 'gpu_util' then 3 when 'gr_engine_active' then 2 when 'sm_active' then 1
                 else 0 end) as coarsest_busy_source,
        cast(sum(unparsed_values) as bigint) as unparsed_values,
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
        -- explicit case, not least(): least() skips a null ratio and would return 1.0
        case when measured_s > 0 then least(busy_s / measured_s, 1.0) end  as busy_fraction,
        case when measured_s = 0 then 'unmeasured'
             when coarsest_busy_source = 3 then 'gpu_util'
             when coarsest_busy_source = 2 then 'gr_engine_active'
             else 'sm_active' end                                          as busy_source,
        cast((purchase_price_usd + server_overhead_usd_per_gpu)
             / (useful_life_years * 8760) as decimal(38, 10))             as cost_capex_usd,
        cast(energy_j / 3600000.0 * usd_per_kwh as decimal(38, 10))       as cost_energy_usd,
        cast(energy_j / 3600000.0 * (pue - 1) * usd_per_kwh
             + colo_usd_per_kw_month * tdp_w / 1000.0 / {{ threshold('hours_per_month') }}
             as decimal(38, 10))                                          as cost_facility_usd,
        cast(ops_usd_per_gpu_month / {{ threshold('hours_per_month') }} as decimal(38, 10)) as cost_ops_usd
    from energy

),

totalled as (

    select
        *,
        cast(cost_capex_usd + cost_energy_usd + cost_facility_usd + cost_ops_usd as decimal(38, 10)) as cost_total_usd
    from costed

),

split as (

    select
        *,
        case when measured_s > 0
             then cast(cost_total_usd * (measured_s / observed_s) * (1 - busy_fraction) as decimal(38, 10))
        end                                                               as cost_idle_usd,
        case when measured_s = 0 then cost_total_usd
             else cast(cost_total_usd * (unmeasured_s / observed_s) as decimal(38, 10))
        end                                                               as cost_unmeasured_usd
    from totalled

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
    unmeasured_s,
    case when unmeasured_s > 0 and any_unmeasured_mig = 1 then 'mig_mode_no_utilisation'
         when unmeasured_s > 0 then 'no_utilisation_reading' end         as unmeasured_reason,
    counter_resets,
    gaps,
    unparsed_values,
    power_estimated_s,
    energy_modelled_s,
    cost_capex_usd,
    cost_energy_usd,
    cost_facility_usd,
    cost_ops_usd,
    cost_total_usd,
    cost_idle_usd,
    case when measured_s > 0 then cost_total_usd - cost_idle_usd - cost_unmeasured_usd end as cost_busy_usd,
    cost_unmeasured_usd
from split
