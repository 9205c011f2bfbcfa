with

electoral_units as (

    select * from {{ ref('int_electoral_units') }}

),

candidates as (

    select * from {{ ref('stg_raw__candidates') }}

),

votes as (

    select * from {{ ref('fct_votes') }}

),

statewide_votes as (

    select
        election_id,
        state as unit_code,
        candidate_id,
        count(*) as votes
    from votes
    group by
        election_id,
        state,
        candidate_id

),

district_votes as (

    select
        election_id,
        {{ unit_code('state', 'district') }} as unit_code,
        candidate_id,
        count(*) as votes
    from votes
    where district is not null
    group by
        election_id,
        {{ unit_code('state', 'district') }},
        candidate_id

),

unit_votes as (

    select * from statewide_votes
    union all
    select * from district_votes

),

-- every candidate in every unit, so that a candidate without votes in a
-- unit shows with zero
unit_candidates as (

    select
        electoral_units.election_id,
        electoral_units.unit_code,
        electoral_units.state,
        electoral_units.district,
        candidates.candidate_id,
        candidates.party,
        candidates.candidate_name
    from electoral_units
    inner join candidates
        on electoral_units.election_id = candidates.election_id

),

final as (

    select
        unit_candidates.election_id,
        unit_candidates.unit_code,
        unit_candidates.state,
        unit_candidates.district,
        unit_candidates.candidate_id,
        unit_candidates.party,
        unit_candidates.candidate_name,
        coalesce(unit_votes.votes, 0) as votes
    from unit_candidates
    left join unit_votes
        on unit_candidates.election_id = unit_votes.election_id
        and unit_candidates.unit_code = unit_votes.unit_code
        and unit_candidates.candidate_id = unit_votes.candidate_id

)

select * from final
