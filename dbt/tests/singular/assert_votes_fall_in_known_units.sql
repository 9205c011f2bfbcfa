-- Ballots that no electoral unit of their election counts: a state or
-- district without official results for the election's year, or a ballot
-- of Maine or Nebraska without its district.

with

votes as (

    select * from {{ ref('stg_raw__votes') }}

),

electoral_units as (

    select * from {{ ref('int_electoral_units') }}

),

districted_states as (

    select distinct
        election_id,
        state
    from electoral_units
    where district is not null

),

final as (

    select
        votes.vote_id,
        votes.election_id,
        votes.state,
        votes.district
    from votes
    left join electoral_units
        on votes.election_id = electoral_units.election_id
        and {{ unit_code('votes.state', 'votes.district') }}
        = electoral_units.unit_code
    left join districted_states
        on votes.election_id = districted_states.election_id
        and votes.state = districted_states.state
    where electoral_units.unit_code is null
        or (districted_states.state is not null and votes.district is null)

)

select * from final
