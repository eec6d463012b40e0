-- How far each kind of spend reaches (the newest day with cost per source type: cloud bills,
-- LLM API, owned GPUs), and the last flagged anomaly before the digest week (which starts at $1).
select
    (select list({'source_type': source_type, 'through': through} order by source_type)
     from (select source_type, max(day) as through from main.fct_daily_spend group by 1))  as by_source_type,
    (select max(day) from main.fct_cost_anomalies where day < ?)                        as previous_anomaly_day
