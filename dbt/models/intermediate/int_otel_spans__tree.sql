-- Every span placed in its trace tree: root span, depth (root = 0), ancestors (root first), task and agent.
-- A span whose parent was never exported counts as a root of its own subtree.
-- task_id = the trace id (the trace root is the task); the root's gen_ai.conversation.id is kept
-- as conversation_id (a conversation may span several tasks/traces).
with recursive spans as (

    select * from {{ ref('stg_otel__spans') }}

),

roots as (

    select spans.trace_id, spans.span_id
    from spans
    left join spans as parents
        on parents.trace_id = spans.trace_id
        and parents.span_id = spans.parent_span_id
    where spans.parent_span_id is null or parents.span_id is null

),

tree as (

    select trace_id, span_id, span_id as root_span_id, 0 as depth, cast([] as varchar[]) as ancestor_ids
    from roots

    union all

    select spans.trace_id, spans.span_id, tree.root_span_id, tree.depth + 1,
           list_append(tree.ancestor_ids, tree.span_id)
    from spans
    inner join tree
        on spans.trace_id = tree.trace_id
        and spans.parent_span_id = tree.span_id

),

children as (

    select trace_id, parent_span_id as span_id, count(*) as child_spans
    from spans
    where parent_span_id is not null
    group by trace_id, parent_span_id

),

trace_agents as (

    -- the agent of a trace: its (first) invoke_agent span
    select trace_id, min(agent_name) as agent_name
    from spans
    where operation_name = 'invoke_agent'
    group by trace_id

)

select
    spans.*,
    tree.root_span_id,
    tree.depth,
    tree.ancestor_ids,
    coalesce(children.child_spans, 0)                        as child_spans,
    spans.trace_id                                           as task_id,
    coalesce(root_spans.conversation_id, spans.conversation_id) as task_conversation_id,
    coalesce(spans.agent_name, trace_agents.agent_name)      as agent,
    coalesce(spans.application, root_spans.application)      as task_application,
    coalesce(spans.team, root_spans.team)                    as task_team,
    root_spans.started_at                                    as task_started_at
from spans
inner join tree
    on tree.trace_id = spans.trace_id
    and tree.span_id = spans.span_id
left join spans as root_spans
    on root_spans.trace_id = tree.trace_id
    and root_spans.span_id = tree.root_span_id
left join children
    on children.trace_id = spans.trace_id
    and children.span_id = spans.span_id
left join trace_agents
    on trace_agents.trace_id = spans.trace_id
