-- Context shape of recorded agent runs from their histories, for runs whose logs carry no per-call
-- token counts (SWE-agent keeps only run totals, tau-bench transcripts no usage at all): the
-- characters of each call's prompt (all messages before the call's response), in call order.
-- One row per run: prompt_calls = calls with a known prompt, first / final / Σ prompt characters.
with calls as (

    select run_id, call_seq, prompt_chars
    from {{ ref('stg_agent_trajectories__calls') }}
    where prompt_chars is not null

),

prompts as (

    -- a transcript row holds its one call's prompt; a run-total row the prompts of all its calls
    select
        run_id,
        coalesce(call_seq, 0)                    as row_seq,
        unnest(prompt_chars)                     as chars,
        generate_subscripts(prompt_chars, 1)     as call_in_row
    from calls

)

select
    run_id                                                   as task_id,
    cast(count(*) as bigint)                                 as prompt_calls,
    cast(arg_min(chars, (row_seq, call_in_row)) as bigint)   as first_prompt_chars,
    cast(arg_max(chars, (row_seq, call_in_row)) as bigint)   as final_prompt_chars,
    cast(sum(chars) as bigint)                               as total_prompt_chars
from prompts
group by run_id
