-- NVML samples (and DCGM-exporter scrapes mapped to the same fields: gr_engine_active_pct and
-- unparsed_values come from DCGM only, 0 / null from the collector). energy_mj is NVML's total-energy counter in millijoules since driver load:
-- converted to joules (it resets on driver reload; intervals handle that downstream).
with source as (

    select * from {{ source('gpu_telemetry', 'gpu_samples') }}

),

renamed as (

    select
        {{ utc('ts') }}                                         as sampled_at,
        host,
        gpu_uuid,
        gpu_index,
        name                                                    as gpu_name,
        util_gpu_pct,
        util_mem_pct,
        mem_used_bytes,
        mem_total_bytes,
        power_w,
        power_limit_w,
        cast(energy_mj as double) / 1000.0                      as energy_counter_j,
        temp_c,
        sm_clock_mhz,
        gpm_sm_activity_pct,
        gpm_tensor_activity_pct,
        gr_engine_active_pct,
        coalesce(unparsed_values, 0)                            as unparsed_values,
        coalesce(mig_mode, false)                               as is_mig_mode,
        driver_version,
        nvml_version,
        collector_version,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('sampled_at') }}
