-- Agent loops per agent: what is normal (p50 / p95) and the bar a task must reach to be a runaway
-- (max(floor, runaway_p95_multiple × the agent's own p95)), with how many tasks reach it.
select agent, count(*) as tasks,
       count(*) filter (where is_runaway) as runaway_tasks,
       round(100.0 * count(*) filter (where is_runaway) / count(*), 1) as runaway_pct,
       any_value(runaway_threshold_basis) as bars_from,
       any_value(agent_p50_llm_calls) as p50_calls, any_value(agent_p95_llm_calls) as p95_calls,
       any_value(runaway_llm_calls_threshold) as calls_bar,
       round(any_value(agent_p50_input_amplification), 1) as p50_input_amp,
       round(any_value(agent_p95_input_amplification), 1) as p95_input_amp,
       round(any_value(runaway_input_amplification_threshold), 1) as input_amp_bar,
       round(any_value(runaway_cost_amplification_threshold), 1) as cost_amp_bar,
       round(any_value(runaway_cost_usd_threshold), 2) as cost_bar_usd
from main.fct_agent_loops
group by agent
order by tasks desc
