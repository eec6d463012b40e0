-- application → team, from the attribution seeds (API accounts first, then GPU hosts).
with candidates as (

    select application, team, 1 as priority
    from {{ ref('account_attribution') }}
    where application is not null and team is not null
    union all
    select application, team, 2
    from {{ ref('host_sites') }}
    where application is not null and team is not null

),

ranked as (

    select *, row_number() over (partition by application order by priority, team) as rn
    from candidates

)

select application, team
from ranked
where rn = 1
