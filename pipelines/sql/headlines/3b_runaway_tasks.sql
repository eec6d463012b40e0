-- Runaway agent tasks, costliest first: which calibrated bars each one reached (runaway_reasons has
-- the values and bars in words).
select task_id, agent, cast(started_at as date) as day, llm_calls,
       round(input_amplification, 1) as input_amp, round(cost_amplification, 1) as cost_amp,
       round(cost_usd, 4) as cost_usd,
       concat_ws(', ', case when is_runaway_calls then 'calls' end, case when is_runaway_cost then 'cost' end,
                 case when is_runaway_input_amplification then 'input amp' end,
                 case when is_runaway_cost_amplification then 'cost amp' end) as runaway_on
from main.fct_agent_loops
where is_runaway
order by cost_usd desc nulls last, task_id
limit 8
