-- Ballots cast for a candidate of another election, or by a voter
-- registered for another election.

with

votes as (

    select * from {{ ref('stg_raw__votes') }}

),

voters as (

    select * from {{ ref('stg_raw__voters') }}

),

candidates as (

    select * from {{ ref('stg_raw__candidates') }}

),

final as (

    select
        votes.vote_id,
        votes.election_id,
        voters.election_id as voter_election_id,
        candidates.election_id as candidate_election_id
    from votes
    inner join voters
        on votes.voter_id = voters.voter_id
    inner join candidates
        on votes.candidate_id = candidates.candidate_id
    where votes.election_id <> voters.election_id
        or votes.election_id <> candidates.election_id

)

select * from final
