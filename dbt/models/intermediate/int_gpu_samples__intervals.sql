-- Sample-to-sample intervals per GPU with their energy.
-- energy_j = counter delta (NVML total-energy counter), EXCEPT when the counter went backwards
-- (driver reload / reset) or the gap exceeds 3 × the GPU's nominal (median) sampling interval:
-- then energy_j = mean(power at both ends) × interval_s.
-- An interval belongs to the hour in which it starts (interval_start_at).
with samples as (

    select * from {{ ref('stg_gpu_telemetry__samples') }}
    where gpu_uuid is not null and sampled_at is not null

),

lagged as (

    select
        *,
        lag(sampled_at)       over by_gpu as interval_start_at,
        lag(energy_counter_j) over by_gpu as prev_energy_counter_j,
        lag(power_w)          over by_gpu as prev_power_w
    from samples
    window by_gpu as (partition by gpu_uuid order by sampled_at)

),

intervals as (

    select
        *,
        {{ dbt.datediff('interval_start_at', 'sampled_at', 'millisecond') }} / 1000.0 as interval_s,
        energy_counter_j - prev_energy_counter_j as counter_delta_j
    from lagged
    where interval_start_at is not null

),

with_nominal as (

    select
        *,
        median(interval_s) over (partition by gpu_uuid) as nominal_interval_s
    from intervals

)

select
    gpu_uuid,
    host,
    gpu_index,
    gpu_name,
    interval_start_at,
    sampled_at                                           as interval_end_at,
    {{ dbt.date_trunc('hour', 'interval_start_at') }}    as hour_at,
    interval_s,
    nominal_interval_s,
    counter_delta_j,
    (counter_delta_j < 0)                                as is_counter_reset,
    (interval_s > 3 * nominal_interval_s)                as is_gap,
    case
        when counter_delta_j is null or counter_delta_j < 0 or interval_s > 3 * nominal_interval_s
            then 'power'
        else 'counter'
    end                                                  as energy_method,
    case
        when counter_delta_j is null or counter_delta_j < 0 or interval_s > 3 * nominal_interval_s
            then coalesce((coalesce(prev_power_w, power_w) + power_w) / 2.0, 0) * interval_s
        else counter_delta_j
    end                                                  as energy_j,
    -- NVML utilisation is the fraction of the last sample period a kernel was running
    coalesce(util_gpu_pct, 0) / 100.0 * interval_s       as busy_s,
    power_w
from with_nominal
