-- LLM calls of recorded agent runs. A SWE-agent run only records totals: one aggregate row with
-- call_count calls (tokens summed over them); transcripts give one row per assistant turn.
with source as (

    select * from {{ source('agent_trajectories', 'agent_llm_calls') }}

),

renamed as (

    select
        run_id,
        task_name,
        trial,
        call_seq,
        call_count,
        is_aggregate,
        log_format,
        agent,
        model,
        model_from,
        provider                                  as provider_name,
        {{ utc('started_at') }}                   as started_at,
        input_tokens,
        output_tokens,
        tool_calls,
        cast(recorded_cost_usd as decimal(38, 10)) as recorded_cost_usd,
        reward,
        exit_status,
        -- characters of each call's prompt, in call order (see the connector)
        prompt_chars,
        -- characters of each call's own response (transcripts only; see the connector)
        response_chars,
{{ lineage_columns() }}

    from source

)

select * from renamed
