{{ config(severity='warn') }}

-- Ballots counted in another state or district than their voter's current
-- registration: a warning only, since a voter may move after voting.

with

votes as (

    select * from {{ ref('stg_raw__votes') }}

),

voters as (

    select * from {{ ref('stg_raw__voters') }}

),

final as (

    select
        votes.vote_id,
        votes.state,
        votes.district,
        voters.state as voter_state,
        voters.district as voter_district
    from votes
    inner join voters
        on votes.voter_id = voters.voter_id
    where votes.state <> voters.state
        or coalesce(votes.district, 0) <> coalesce(voters.district, 0)

)

select * from final
