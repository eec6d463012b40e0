-- Top agent tasks by input amplification (Σ input tokens ÷ first call's input tokens).
select task_id, agent, application, cast(started_at as date) as day, llm_calls, tool_calls,
       round(input_amplification, 1) as input_amplification,
       round(cost_amplification, 1) as cost_amplification,
       round(cost_usd, 4) as cost_usd
from main.fct_agent_loops
order by input_amplification desc nulls last
limit 5
