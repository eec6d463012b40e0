{#- Every GPU-hour's cost splits exactly into busy + idle + unmeasured, and an hour without a busy
    reading is neither busy nor idle (busy_fraction, cost_busy_usd, cost_idle_usd all null). -#}
select gpu_uuid, hour_at, busy_source, busy_fraction, cost_total_usd, cost_busy_usd, cost_idle_usd, cost_unmeasured_usd
from {{ ref('fct_gpu_hours') }}
where cost_total_usd is not null
  and (
        cost_total_usd <> coalesce(cost_busy_usd, 0) + coalesce(cost_idle_usd, 0) + cost_unmeasured_usd
     or (busy_source = 'unmeasured') <> (busy_fraction is null)
     or (busy_fraction is null) <> (cost_busy_usd is null)
     or (busy_fraction is null) <> (cost_idle_usd is null)
     or (unmeasured_s > 0) <> (unmeasured_reason is not null)
  )
