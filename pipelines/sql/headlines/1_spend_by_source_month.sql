-- Spend by source and billing month. AI spend = "AI and Machine Learning" services (Bedrock,
-- Vertex AI, OpenAI, Anthropic …) plus GPU capacity (cloud GPU instances, owned GPUs).
select strftime(BillingPeriodStart, '%Y-%m') as month,
       x_source as source,
       round(sum(BilledCost) filter (where ServiceCategory = 'AI and Machine Learning' or x_gpu_model is not null), 2)
           as ai_billed_usd,
       round(sum(BilledCost), 2) as all_billed_usd,
       round(sum(EffectiveCost), 2) as all_effective_usd
from main.focus_costs
group by all
order by month, source
