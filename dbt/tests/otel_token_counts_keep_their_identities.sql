{#- The token mapping (seed otel_genai_attributes) relies on what each instrumentation's counts
    include: input tokens INCLUDE cache reads and writes (Anthropic's own input_tokens does not:
    the instrumentations add them), output tokens INCLUDE reasoning, an instrumentation's total is
    input + output. A release that changes that (an Anthropic instrumentation passing input_tokens
    through, a Gemini one leaving thinking tokens out of output) shows as an instrumentation scope
    whose spans break the identity: priced wrong, silently. Fails naming the scope, the identity,
    how many spans break it and one of them, when the share of broken spans exceeds the thresholds
    otel_token_identity_max_broken_share / _min_broken_spans (a few odd spans pass). -#}
{%- set breaks %}
with spans as (

    select *
    from {{ ref('stg_otel__spans') }}
    where input_tokens is not null or output_tokens is not null

),

checks as (

    select scope_name, span_id, 'input_tokens >= cache reads + cache writes' as identity,
           coalesce(cached_input_tokens, 0) + coalesce(cache_write_tokens, 0) > input_tokens as broken
    from spans
    where input_tokens is not null and (cached_input_tokens is not null or cache_write_tokens is not null)
    union all
    select scope_name, span_id, 'output_tokens >= reasoning_tokens', reasoning_tokens > output_tokens
    from spans
    where output_tokens is not null and reasoning_tokens is not null
    union all
    select scope_name, span_id, 'total_tokens = input_tokens + output_tokens', total_tokens <> input_tokens + output_tokens
    from spans
    where total_tokens is not null and input_tokens is not null and output_tokens is not null
    union all
    select scope_name, span_id, 'input_tokens >= input audio tokens', input_audio_tokens > input_tokens
    from spans
    where input_tokens is not null and input_audio_tokens is not null
    union all
    select scope_name, span_id, 'output_tokens >= output audio tokens', output_audio_tokens > output_tokens
    from spans
    where output_tokens is not null and output_audio_tokens is not null

)

select
    coalesce(scope_name, '(no scope)') as scope_name,
    identity,
    count(*) as spans,
    sum(case when broken then 1 else 0 end) as broken_spans,
    min(case when broken then span_id end) as example_span_id
from checks
group by 1, 2
having sum(case when broken then 1 else 0 end) >= {{ threshold('otel_token_identity_min_broken_spans') }}
   and sum(case when broken then 1 else 0 end) > {{ threshold('otel_token_identity_max_broken_share') }} * count(*)
{%- endset %}
{%- if execute %}
  {%- set found = run_query(breaks ~ ' order by 1, 2') %}
  {%- if found.rows | length > 0 %}
    {%- set lines = [] %}
    {%- for r in found.rows %}
      {%- do lines.append(r[0] ~ ': ' ~ r[1] ~ ' broken on ' ~ r[3] ~ ' of ' ~ r[2] ~ ' spans (e.g. span ' ~ r[4] ~ ')') %}
    {%- endfor %}
    {{ exceptions.raise_compiler_error(
        "otel_spans: token counts no longer mean what seed otel_genai_attributes says (the instrumentation's "
        ~ "semantics changed?) — " ~ (lines | join('; '))
        ~ ". Check the instrumentation's release notes, then fix its rows in otel_genai_attributes.") }}
  {%- endif %}
{%- endif %}
{{ breaks }}
