"""Ingestion benchmark: the API and the consumer flows next to raw baselines.

`python -m benchmarks.ingest [--ratio 1000] [--events N] [--quick]` starts a stack
of its own and measures, in one run and on the same events:

1. raw confluent-kafka produce of the encoded events (baseline of the API);
2. the API one event per request, on a sample, extrapolated to all events;
3. the API in bulk (500 events a request, 4 concurrent client processes);
4. the consumer flows `consume_registrations` and `consume_votes` as users run
   them (Prefect server, flow and task overhead included);
5. a raw `COPY` of the same rows into the same tables (baseline of the consumers).

It prints a table and writes bench-results/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from benchmarks.common import (
    header,
    load_average,
    log,
    met,
    print_table,
    private_stack,
    profiling,
    rate,
    ratio,
    write_results,
)
from election.contracts import (
    REGISTRATION_TOPIC,
    VOTE_TOPIC,
    RegistrationEvent,
    VoteEvent,
    encode_event,
)
from election.scenario import load_scenario
from election.settings import Settings
from producers.api_client import post_events
from producers.registrations import iter_registration_events
from producers.votes import iter_vote_events
from services.topics import admin_client
from tasks.consume import when_coordinator_ready
from tasks.ingest import vote_row, voter_row

NAME = "ingest"
BULK_TARGET = 20_000
"""Events per second the bulk API should reach on the 2-core machine."""
CONSUMER_TARGET = 0.5
"""Share of raw COPY's rows per second each consumer flow should reach."""
BASELINE_TOPICS = {t: f"bench-raw-{t}" for t in (REGISTRATION_TOPIC, VOTE_TOPIC)}

VOTER_COLUMNS = (
    "voter_id, election_id, state, district, first_name, last_name, email, phone, "
    "gender, birth_date, registered_at, removed_at, last_event_id, last_event_at"
)
VOTE_COLUMNS = "vote_id, election_id, voter_id, candidate_id, state, district, cast_at"


def build_events(
    year: int, ratio_: int, cap: int | None
) -> tuple[list[RegistrationEvent], list[VoteEvent]]:
    """The scenario's registrations and votes; at most `cap` of both together.

    A capped run keeps the registrations' share and only votes of voters it
    registers, so no vote waits for its voter.
    """
    scenario = load_scenario(year, ratio_)
    registrations = list(iter_registration_events(scenario))
    votes = list(iter_vote_events(scenario))
    if cap is None or cap >= len(registrations) + len(votes):
        return registrations, votes
    share = len(registrations) / (len(registrations) + len(votes))
    registrations = registrations[: round(cap * share)]
    registered = {event.voter_id for event in registrations}
    votes = [v for v in votes if v.voter_id in registered][: cap - len(registrations)]
    return registrations, votes


def producer_config(settings: Settings) -> dict[str, Any]:
    """The API's producer settings: idempotent, acks from all, 5 ms linger."""
    return {
        "bootstrap.servers": settings.kafka_servers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    }


def ensure_baseline_topics(settings: Settings) -> None:
    """Create the topics the raw produce writes to, as wide as the event topics."""
    admin = admin_client(settings)
    existing = admin.list_topics(timeout=30).topics
    wanted = [
        NewTopic(topic, num_partitions=settings.kafka_partitions, replication_factor=1)
        for topic in BASELINE_TOPICS.values()
        if topic not in existing
    ]
    if wanted:
        for future in admin.create_topics(wanted).values():
            future.result(timeout=30)


def raw_produce(
    settings: Settings, topic: str, messages: Sequence[tuple[bytes, bytes]]
) -> float:
    """Seconds to produce `messages` with one producer and wait for every ack."""
    producer = Producer(producer_config(settings))
    delivered = {"ok": 0, "failed": 0}

    def on_delivery(error: object, message: object) -> None:
        delivered["failed" if error else "ok"] += 1

    started = time.perf_counter()
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(120)
    seconds = time.perf_counter() - started
    if delivered["ok"] != len(messages):
        raise RuntimeError(
            f"raw produce to {topic} delivered {delivered['ok']:,} of "
            f"{len(messages):,} messages ({delivered['failed']:,} failed): read the "
            "broker's log in the stack's kafka/logs"
        )
    return seconds


def _client(
    events: Sequence[RegistrationEvent | VoteEvent],
    endpoint: str,
    api_url: str,
    token: str | None,
    batch_size: int,
    single: bool,
    barrier: Any,
    outcomes: Any,
) -> None:
    """One client process: wait for the others, then post its share of events."""
    barrier.wait()
    try:
        summary = post_events(
            events, endpoint, api_url, token, batch_size, single=single
        )
    except Exception as error:
        outcomes.put((0, len(events), f"{type(error).__name__}: {error}"))
        return
    outcomes.put((summary.accepted, summary.rejected, ""))


def post_concurrently(
    settings: Settings,
    events: Sequence[RegistrationEvent | VoteEvent],
    endpoint: str,
    *,
    clients: int,
    batch_size: int,
    single: bool,
) -> float:
    """Seconds for `clients` processes to post `events` (split in contiguous parts).

    The clients are forked before the clock starts and all start together.
    """
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)
    outcomes = context.Queue()
    size = -(-len(events) // clients)
    processes = [
        context.Process(
            target=_client,
            args=(
                events[i * size : (i + 1) * size],
                endpoint,
                settings.api_url,
                settings.resolved_api_token(),
                batch_size,
                single,
                barrier,
                outcomes,
            ),
        )
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    results = [outcomes.get() for _ in processes]
    seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    accepted = sum(a for a, _, _ in results)
    if accepted != len(events) or any(p.exitcode for p in processes):
        errors = "; ".join(e for _, _, e in results if e)
        raise RuntimeError(
            f"the API accepted {accepted:,} of {len(events):,} {endpoint} events "
            f"({errors or 'no client error'}); read the stack's api/api.log"
        )
    return seconds


def skip_to_end(settings: Settings, topic: str) -> None:
    """Commit the consumer group of `topic` at the end of every partition.

    The single-event sample goes into the event topics before the bulk run; the
    consumer flows then start after it, on the bulk events only.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_servers,
            "group.id": settings.consumer_group(topic),
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = [
            TopicPartition(
                topic,
                p,
                consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=10, cached=False
                )[1],
            )
            for p in partitions
        ]
        _commit_with_patience(consumer, ends, topic)
    finally:
        consumer.close()


def _commit_with_patience(
    consumer: Consumer, offsets: list[TopicPartition], topic: str
) -> None:
    """Commit `offsets`, trying again while the broker's coordinator loads."""
    try:
        when_coordinator_ready(
            lambda: consumer.commit(offsets=offsets, asynchronous=False)
        )
    except KafkaException as error:
        raise RuntimeError(
            f"cannot move the consumer group of {topic} past the sample: {error}"
        ) from error


def consume(topic: str, profile: bool) -> tuple[float, dict[str, int]]:
    """Seconds of the consumer flow of `topic` run to the end, and its summary."""
    from flows.consume import consume_registrations, consume_votes

    run = consume_registrations if topic == REGISTRATION_TOPIC else consume_votes
    with profiling(profile, f"{NAME}-profile-consume-{topic}"):
        started = time.perf_counter()
        summary = asyncio.run(run(until_caught_up=True, idle_timeout_s=30))
        seconds = time.perf_counter() - started
    return seconds, summary


def write_span(settings: Settings, table: str, election: str) -> tuple[int, float]:
    """Rows of `election` in `table` and seconds from its first to last write."""
    with psycopg.connect(settings.postgres_dsn) as conn:
        rows, span = conn.execute(
            f"select count(*), extract(epoch from max(created_at) - min(created_at)) "
            f"from {table} where election_id = %s",
            (election,),
        ).fetchone()
    return int(rows), float(span or 0.0)


def voter_rows(events: Sequence[RegistrationEvent]) -> list[tuple[object, ...]]:
    """The `voters` rows of `events`, as the consumer writes them."""
    return [voter_row(e) for e in events]


def vote_rows(events: Sequence[VoteEvent]) -> list[tuple[object, ...]]:
    """The `votes` rows of `events`, as the consumer writes them."""
    return [vote_row(e) for e in events]


def raw_copy(
    settings: Settings, table: str, columns: str, rows: Sequence[tuple[object, ...]]
) -> float:
    """Seconds to COPY `rows` into `table` in one transaction, commit included."""
    with psycopg.connect(settings.postgres_dsn) as conn:
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"copy {table} ({columns}) from stdin") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def truncate_staging(settings: Settings) -> None:
    """Empty voters, votes and held events; elections and candidates stay."""
    with psycopg.connect(settings.postgres_dsn) as conn:
        conn.execute("truncate voters, votes, held_events")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of the ingestion benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--year", type=int, default=2020, choices=(2020, 2024))
    parser.add_argument("--ratio", type=int, default=1_000)
    parser.add_argument("--events", type=int, help="cap on events (both kinds)")
    parser.add_argument("--single-sample", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--quick", action="store_true", help="1:10,000 and a sample of 500"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the consumer flows with pyinstrument (slows them)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the stack's data")
    args = parser.parse_args(argv)
    if args.quick:
        args.ratio, args.single_sample = 10_000, 500
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the ingestion benchmark, print its table, write its JSON."""
    args = parse_args(argv)
    document = header(NAME, "benchmarks.ingest", argv)
    log(f"building the events of {args.year} at 1:{args.ratio:,}")
    registrations, votes = build_events(args.year, args.ratio, args.events)
    events = len(registrations) + len(votes)
    election = registrations[0].election_id
    log(f"{len(registrations):,} registrations and {len(votes):,} votes")
    seconds: dict[str, float] = {}
    load: dict[str, list[float]] = {}
    counts: dict[str, Any] = {}

    with private_stack(keep=args.keep) as stack:
        settings = stack.settings

        # 1. raw produce, the API's baseline
        ensure_baseline_topics(settings)
        for topic, batch in ((REGISTRATION_TOPIC, registrations), (VOTE_TOPIC, votes)):
            messages = [(str(e.voter_id).encode(), encode_event(e)) for e in batch]
            log(f"raw produce of {len(messages):,} {topic} messages")
            seconds[f"raw_produce_{topic}"] = raw_produce(
                settings, BASELINE_TOPICS[topic], messages
            )
        load["raw_produce"] = load_average()

        # 2. the API one event per request, on a sample
        share = len(registrations) / events
        sample_r = min(len(registrations), round(args.single_sample * share))
        sample_v = min(len(votes), args.single_sample - sample_r)
        log(f"single-event API on a sample of {sample_r + sample_v:,} events")
        seconds["api_single"] = post_concurrently(
            settings,
            registrations[:sample_r],
            "register",
            clients=args.clients,
            batch_size=1,
            single=True,
        ) + post_concurrently(
            settings,
            votes[:sample_v],
            "vote",
            clients=args.clients,
            batch_size=1,
            single=True,
        )
        load["api_single"] = load_average()
        for topic in (REGISTRATION_TOPIC, VOTE_TOPIC):
            skip_to_end(settings, topic)

        # 3. the API in bulk
        for topic, endpoint, batch in (
            (REGISTRATION_TOPIC, "register", registrations),
            (VOTE_TOPIC, "vote", votes),
        ):
            log(f"bulk API: {len(batch):,} {topic} events, {args.clients} clients")
            seconds[f"api_bulk_{topic}"] = post_concurrently(
                settings,
                batch,
                endpoint,
                clients=args.clients,
                batch_size=args.batch_size,
                single=False,
            )
        load["api_bulk"] = load_average()

        # 4. the consumer flows, as users run them (imported before the clock)
        import flows.consume  # noqa: F401

        for topic, table in ((REGISTRATION_TOPIC, "voters"), (VOTE_TOPIC, "votes")):
            log(f"consumer flow of {topic}")
            took, summary = consume(topic, args.profile)
            rows, span = write_span(settings, table, election)
            seconds[f"consume_{topic}"] = took
            counts[f"consume_{topic}"] = summary | {"rows_in_table": rows}
            counts[f"consume_{topic}"]["first_to_last_write_s"] = round(span, 3)
            load[f"consume_{topic}"] = load_average()
        _check_rows(counts, len(registrations), len(votes))

        # 5. raw COPY of the same rows, the consumers' baseline
        truncate_staging(settings)
        for table, columns, rows in (
            ("voters", VOTER_COLUMNS, voter_rows(registrations)),
            ("votes", VOTE_COLUMNS, vote_rows(votes)),
        ):
            log(f"raw COPY of {len(rows):,} rows into {table}")
            seconds[f"copy_{table}"] = raw_copy(settings, table, columns, rows)
        load["copy"] = load_average()
        up_seconds = stack.up_seconds

    results = _results(args, registrations, votes, seconds, counts)
    document.update(
        parameters=vars(args) | {"events": events, "election_id": election},
        services_up_s=round(up_seconds, 1),
        seconds={key: round(value, 3) for key, value in seconds.items()},
        results=results,
        counts=counts,
        load_average_by_stage=load,
        load_average_end=load_average(),
    )
    _print(document)
    path = write_results(NAME, document)
    print(f"\nwrote {path}")
    return document


def _check_rows(counts: dict[str, Any], registrations: int, votes: int) -> None:
    """Fail when a consumer did not write every event once."""
    got = (
        counts[f"consume_{REGISTRATION_TOPIC}"]["rows_in_table"],
        counts[f"consume_{VOTE_TOPIC}"]["rows_in_table"],
    )
    if got != (registrations, votes):
        raise RuntimeError(
            f"the consumers wrote {got[0]:,} voters and {got[1]:,} votes, expected "
            f"{registrations:,} and {votes:,}: the figures would mean nothing"
        )


def _results(
    args: argparse.Namespace,
    registrations: Sequence[RegistrationEvent],
    votes: Sequence[VoteEvent],
    seconds: dict[str, float],
    counts: dict[str, Any],
) -> dict[str, Any]:
    """Events per second of every stage, and the ratios to the baselines."""
    n_r, n_v = len(registrations), len(votes)
    total = n_r + n_v
    produce_s = (
        seconds[f"raw_produce_{REGISTRATION_TOPIC}"]
        + seconds[f"raw_produce_{VOTE_TOPIC}"]
    )
    bulk_s = (
        seconds[f"api_bulk_{REGISTRATION_TOPIC}"] + seconds[f"api_bulk_{VOTE_TOPIC}"]
    )
    sample = min(n_r, round(args.single_sample * n_r / total))
    sample += min(n_v, args.single_sample - sample)
    single_rate = rate(sample, seconds["api_single"])
    raw_rate = rate(total, produce_s)
    bulk_rate = rate(total, bulk_s)
    results: dict[str, Any] = {
        "raw_produce": {
            "events": total,
            "seconds": round(produce_s, 3),
            "events_per_s": raw_rate,
        },
        "api_single": {
            "events": sample,
            "seconds": round(seconds["api_single"], 3),
            "events_per_s": single_rate,
            "clients": args.clients,
            "extrapolated_seconds_for_all": round(total / single_rate, 1)
            if single_rate
            else None,
            "ratio_to_raw_produce": ratio(single_rate, raw_rate),
        },
        "api_bulk": {
            "events": total,
            "seconds": round(bulk_s, 3),
            "events_per_s": bulk_rate,
            "clients": args.clients,
            "batch_size": args.batch_size,
            "by_topic_events_per_s": {
                REGISTRATION_TOPIC: rate(
                    n_r, seconds[f"api_bulk_{REGISTRATION_TOPIC}"]
                ),
                VOTE_TOPIC: rate(n_v, seconds[f"api_bulk_{VOTE_TOPIC}"]),
            },
            "ratio_to_raw_produce": ratio(bulk_rate, raw_rate),
            "target_events_per_s": BULK_TARGET,
            "target_met": bulk_rate >= BULK_TARGET,
        },
    }
    for topic, table, n in (
        (REGISTRATION_TOPIC, "voters", n_r),
        (VOTE_TOPIC, "votes", n_v),
    ):
        flow_rate = rate(n, seconds[f"consume_{topic}"])
        copy_rate = rate(n, seconds[f"copy_{table}"])
        span = counts[f"consume_{topic}"]["first_to_last_write_s"]
        results[f"consume_{topic}"] = {
            "events": n,
            "seconds": round(seconds[f"consume_{topic}"], 3),
            "events_per_s": flow_rate,
            "in_loop_events_per_s": rate(n, span) if span else None,
            "ratio_to_copy": ratio(flow_rate, copy_rate),
            "target_ratio": CONSUMER_TARGET,
            "target_met": flow_rate >= CONSUMER_TARGET * copy_rate,
        }
        results[f"copy_{table}"] = {
            "rows": n,
            "seconds": round(seconds[f"copy_{table}"], 3),
            "rows_per_s": copy_rate,
        }
    return results


def _print(document: dict[str, Any]) -> None:
    r = document["results"]
    rows = [
        (
            "raw Kafka produce (baseline)",
            r["raw_produce"]["events"],
            r["raw_produce"]["seconds"],
            r["raw_produce"]["events_per_s"],
            1.0,
            None,
        ),
        (
            f"API single, {r['api_single']['clients']} clients (sample)",
            r["api_single"]["events"],
            r["api_single"]["seconds"],
            r["api_single"]["events_per_s"],
            r["api_single"]["ratio_to_raw_produce"],
            f"all: ~{r['api_single']['extrapolated_seconds_for_all']:,.0f} s",
        ),
        (
            f"API bulk, {r['api_bulk']['clients']} clients",
            r["api_bulk"]["events"],
            r["api_bulk"]["seconds"],
            r["api_bulk"]["events_per_s"],
            r["api_bulk"]["ratio_to_raw_produce"],
            f"target {BULK_TARGET:,}/s: {met(r['api_bulk']['target_met'])}",
        ),
    ]
    for topic, table in ((REGISTRATION_TOPIC, "voters"), (VOTE_TOPIC, "votes")):
        c, b = r[f"consume_{topic}"], r[f"copy_{table}"]
        rows.append(
            (
                f"raw COPY into {table} (baseline)",
                b["rows"],
                b["seconds"],
                b["rows_per_s"],
                1.0,
                None,
            )
        )
        rows.append(
            (
                f"consume_{topic} flow",
                c["events"],
                c["seconds"],
                c["events_per_s"],
                c["ratio_to_copy"],
                f"in loop {c['in_loop_events_per_s'] or 0:,.0f}/s; target "
                f"0.5x COPY: {met(c['target_met'])}",
            )
        )
    print_table(
        f"ingest, {document['parameters']['election_id']}, load average "
        f"{document['load_average_start']} -> {document['load_average_end']}",
        ("stage", "events", "seconds", "events/s", "vs baseline", "note"),
        rows,
    )


if __name__ == "__main__":
    main()
    sys.exit(0)
