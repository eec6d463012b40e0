-- Sample-to-sample intervals per GPU with their energy and busy time.
-- counted_s: the interval's seconds, bounded by the gap threshold (3 × the GPU's nominal = median
--   sampling interval): a collector outage adds at most 3 nominal intervals to the hour it starts
--   in; the rest of the gap is unobserved (no busy time, no energy), never one huge interval.
-- energy_j: the NVML / DCGM total-energy counter delta, EXCEPT when the counter went backwards
--   (driver reload / reset: handled, not an error), is missing, or the interval is a gap: then
--   ∫ power dt ≈ mean(power at both ends) × counted_s ('power'). No counter and no power → null
--   ('none'; int_gpu_hours models it from the GPU model's idle power and TDP).
-- busy_s: SM activity (GPM / DCGM_FI_PROF_SM_ACTIVE: the fraction of SMs with a warp resident)
--   where present, else graphics-engine activity (DCGM_FI_PROF_GR_ENGINE_ACTIVE: the fraction of
--   time the GPU's — or MIG instance's — graphics/compute engine was active; dcgm-exporter's default
--   counters enable it and not SM_ACTIVE, and it is the only busy signal of a MIG GPU there), else
--   NVML utilisation (any kernel running during the sample period: coarse, a single tiny kernel
--   reads 100 %) × counted_s; busy_source says which. None → busy_s null (unknown, never 0 or
--   100 %); is_mig_mode says whether the GPU was in MIG mode then (NVML answers NotSupported for a
--   MIG-mode GPU's utilisation).
-- unparsed_values: the end sample's count of skipped exporter values (metrics aispend does not
--   read), plus the GPU's first sample's on its first interval, so the sum over intervals is the
--   sum over samples.
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
        lag(power_w)          over by_gpu as prev_power_w,
        lag(unparsed_values)  over by_gpu as prev_unparsed_values,
        row_number()          over by_gpu as sample_number
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

),

classified as (

    select
        *,
        (interval_s > 3 * nominal_interval_s)                                   as is_gap,
        least(interval_s, 3 * nominal_interval_s)                               as counted_s,
        (coalesce(prev_power_w, power_w) + power_w) / 2.0                       as mean_power_w,
        case
            when gpm_sm_activity_pct is not null then 'sm_active'
            when gr_engine_active_pct is not null then 'gr_engine_active'
            when util_gpu_pct is not null then 'gpu_util'
        end                                                                     as busy_source,
        coalesce(gpm_sm_activity_pct, gr_engine_active_pct, util_gpu_pct) / 100.0 as busy_ratio
    from with_nominal

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
    counted_s,
    nominal_interval_s,
    counter_delta_j,
    (counter_delta_j < 0)                                as is_counter_reset,
    is_gap,
    case
        when counter_delta_j is not null and counter_delta_j >= 0 and not is_gap then 'counter'
        when mean_power_w is not null then 'power'
        else 'none'
    end                                                  as energy_method,
    case
        when counter_delta_j is not null and counter_delta_j >= 0 and not is_gap then counter_delta_j
        else mean_power_w * counted_s
    end                                                  as energy_j,
    busy_source,
    is_mig_mode,
    -- greatest/least skip nulls in some engines: keep 'no reading' null explicitly
    case when busy_ratio is not null then least(greatest(busy_ratio, 0), 1) * counted_s end as busy_s,
    power_w,
    unparsed_values + case when sample_number = 2 then prev_unparsed_values else 0 end as unparsed_values
from classified
