with

electoral_units as (

    select * from {{ ref('int_electoral_units') }}

),

vep_turnout as (

    select * from {{ ref('stg_official__vep_turnout') }}

),

voters as (

    select * from {{ ref('stg_raw__voters') }}

),

votes as (

    select * from {{ ref('fct_votes') }}

),

states as (

    select
        election_id,
        election_year,
        state,
        official_total_votes
    from electoral_units
    where district is null

),

registrations as (

    select
        election_id,
        state,
        cast(count(*) as bigint) as registered,
        cast(sum(case when is_removed then 0 else 1 end) as bigint)
            as eligible,
        cast(sum(case when is_removed then 1 else 0 end) as bigint)
            as removed
    from voters
    group by
        election_id,
        state

),

ballots as (

    select
        election_id,
        state,
        cast(count(*) as bigint) as voted
    from votes
    group by
        election_id,
        state

),

joined as (

    select
        states.election_id,
        states.state,
        coalesce(registrations.registered, 0) as registered,
        coalesce(registrations.removed, 0) as removed,
        coalesce(registrations.eligible, 0) as eligible,
        coalesce(ballots.voted, 0) as voted,
        states.official_total_votes as official_votes,
        vep_turnout.eligible_population as official_eligible
    from states
    left join registrations
        on states.election_id = registrations.election_id
        and states.state = registrations.state
    left join ballots
        on states.election_id = ballots.election_id
        and states.state = ballots.state
    left join vep_turnout
        on states.election_year = vep_turnout.election_year
        and states.state = vep_turnout.state

),

final as (

    select
        election_id,
        state,
        registered,
        removed,
        eligible,
        voted,
        {{ divide('voted', 'eligible') }} as turnout_rate,
        official_votes,
        official_eligible,
        {{ divide('official_votes', 'official_eligible') }}
            as official_turnout_rate
    from joined

)

select * from final
