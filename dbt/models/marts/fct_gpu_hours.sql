-- One row per GPU × hour with utilisation, energy and fully loaded owned cost (see int_gpu_hours).
select
    gpu_uuid,
    hour_at,
    host,
    site,
    gpu_index,
    gpu_model,
    gpu_name,
    team,
    application,
    observed_s,
    busy_fraction,
    energy_kwh,
    avg_power_w,
    counter_resets,
    power_estimated_s,
    cost_capex_usd,
    cost_energy_usd,
    cost_facility_usd,
    cost_ops_usd,
    cost_total_usd,
    cost_idle_usd
from {{ ref('int_gpu_hours') }}
