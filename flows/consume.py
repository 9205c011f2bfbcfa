"""Prefect flows that consume the `registration` and `vote` topics into PostgreSQL.

The flows are coroutines around one synchronous task, as the sync flow is: a
plain `def` flow ends up to a second after its work, joining its heartbeat
thread. Call them with `asyncio.run(consume_votes())` or `await`. The task runs
on the calling thread, so SIGTERM still ends a follower after its batch.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from election.alerts import DEAD_LETTER_EVENT, LAG_EVENT, OVER_THRESHOLD
from election.contracts import REGISTRATION_TOPIC, VOTE_TOPIC, dead_letter_topic
from election.settings import Settings, get_settings
from tasks.consume import (
    DEFAULT_BATCH_SIZE,
    ConsumeReport,
    TopicLag,
    consume_topic,
    measure_lag,
)


@task(name="consume-topic", cache_policy=NO_CACHE)
def consume_topic_task(
    topic: str,
    group_id: str | None,
    batch_size: int,
    max_messages: int | None,
    idle_timeout_s: float,
    follow: bool,
    until_caught_up: bool,
) -> dict[str, int]:
    """Consume `topic` until the stop condition holds; what the run did."""
    logger = get_run_logger()
    settings = get_settings()
    group = group_id or settings.consumer_group(topic)
    logger.info(
        "consuming %s as group %s from %s (%s)",
        topic,
        group,
        settings.kafka_servers,
        "follow mode" if follow else f"bounded, idle timeout {idle_timeout_s:g} s",
    )

    def log_batch(report: ConsumeReport) -> None:
        logger.info(
            "wrote batch %d of %s: %s messages so far, %.0f/s",
            report.batches,
            topic,
            f"{report.messages:,}",
            report.rate,
        )

    last_report = time.monotonic()

    def report_lag_now_and_then(report: ConsumeReport) -> None:
        nonlocal last_report
        if time.monotonic() - last_report >= settings.lag_report_s:
            report_lag(settings, topic, group, logger)
            last_report = time.monotonic()

    report = consume_topic(
        settings,
        topic,
        group_id=group,
        batch_size=batch_size,
        max_messages=max_messages,
        idle_timeout_s=idle_timeout_s,
        follow=follow,
        until_caught_up=until_caught_up,
        on_batch=log_batch,
        on_tick=report_lag_now_and_then if follow else None,
    )
    counts = report.counts
    logger.info(
        "consumed %s messages of %s in %.1f s (stopped by %s): %d written, "
        "%d unchanged, %d parked, %d unparked, %d rejected, %d dead-lettered",
        f"{report.messages:,}",
        topic,
        report.seconds,
        report.stopped_by,
        counts.written,
        counts.unchanged,
        counts.parked,
        counts.unparked,
        counts.rejected,
        counts.dead_lettered,
    )
    create_markdown_artifact(
        key=f"consume-{topic}",
        markdown=(
            f"# Consumed `{topic}`\n\n"
            "| messages | written | unchanged | parked | unparked | rejected "
            "| dead-lettered | seconds |\n|---|---|---|---|---|---|---|---|\n"
            f"| {report.messages} | {counts.written} | {counts.unchanged} "
            f"| {counts.parked} | {counts.unparked} | {counts.rejected} "
            f"| {counts.dead_lettered} | {report.seconds:.1f} |\n"
        ),
        description=f"What the last consumer run of {topic} wrote",
    )
    report_lag(settings, topic, group, logger)
    return _summary(report)


def report_lag(
    settings: Settings, topic: str, group: str, logger: logging.LoggerAdapter
) -> TopicLag:
    """Log, emit and keep as an artifact the lag of `group` and the dead letters.

    The events carry `election.over-threshold`, which the alert automations of
    `deployments/automations.py` match.
    """
    lag = measure_lag(settings, topic, group)
    dead = dead_letter_topic(topic)
    logger.info(
        "group %s is %s messages behind %s (%s); %s holds %s messages",
        group,
        f"{lag.total:,}",
        topic,
        ", ".join(f"p{p.partition}: {p.lag:,}" for p in lag.partitions),
        dead,
        f"{lag.dead_letters:,}",
    )
    emit_event(
        event=LAG_EVENT,
        resource={
            "prefect.resource.id": f"election.consumer.{group}",
            "election.topic": topic,
            OVER_THRESHOLD: _flag(lag.total > settings.lag_alert_threshold),
        },
        payload={
            "group": group,
            "topic": topic,
            "total": lag.total,
            "threshold": settings.lag_alert_threshold,
            "partitions": {str(p.partition): p.lag for p in lag.partitions},
        },
    )
    emit_event(
        event=DEAD_LETTER_EVENT,
        resource={
            "prefect.resource.id": f"election.dead-letter.{topic}",
            "election.topic": dead,
            OVER_THRESHOLD: _flag(
                lag.dead_letters > settings.dead_letter_alert_threshold
            ),
        },
        payload={
            "topic": dead,
            "count": lag.dead_letters,
            "threshold": settings.dead_letter_alert_threshold,
        },
    )
    create_table_artifact(
        key=f"consumer-lag-{topic}",
        table=[
            {
                "partition": p.partition,
                "committed": p.committed,
                "end": p.end,
                "lag": p.lag,
            }
            for p in lag.partitions
        ],
        description=f"Lag of consumer group {group} on {topic} per partition; "
        f"{lag.total:,} in all, {lag.dead_letters:,} dead letters in {dead}",
    )
    return lag


def _flag(value: bool) -> str:
    return "true" if value else "false"


@flow(name="consume-registrations", log_prints=True)
async def consume_registrations(
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_messages: int | None = None,
    idle_timeout_s: float = 10.0,
    follow: bool = False,
    group_id: str | None = None,
    until_caught_up: bool = False,
) -> dict[str, int]:
    """Consume voter registrations into the `voters` table.

    Args:
        batch_size: most messages written in one transaction.
        max_messages: stop after this many messages.
        idle_timeout_s: stop after this many seconds without a message.
        follow: run until cancelled (SIGTERM), ignoring both limits.
        group_id: Kafka consumer group; defaults to `election-registration`.
        until_caught_up: also stop once every partition is read to its end.
    """
    return consume_topic_task(
        REGISTRATION_TOPIC,
        group_id,
        batch_size,
        max_messages,
        idle_timeout_s,
        follow,
        until_caught_up,
    )


@flow(name="consume-votes", log_prints=True)
async def consume_votes(
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_messages: int | None = None,
    idle_timeout_s: float = 10.0,
    follow: bool = False,
    group_id: str | None = None,
    until_caught_up: bool = False,
) -> dict[str, int]:
    """Consume votes into the `votes` table, parking those whose voter is not in.

    Args:
        batch_size: most messages written in one transaction.
        max_messages: stop after this many messages.
        idle_timeout_s: stop after this many seconds without a message.
        follow: run until cancelled (SIGTERM), ignoring both limits.
        group_id: Kafka consumer group; defaults to `election-vote`.
        until_caught_up: also stop once every partition is read to its end.
    """
    return consume_topic_task(
        VOTE_TOPIC,
        group_id,
        batch_size,
        max_messages,
        idle_timeout_s,
        follow,
        until_caught_up,
    )


def _summary(report: ConsumeReport) -> dict[str, int]:
    counts = report.counts
    return {
        "messages": report.messages,
        "written": counts.written,
        "unchanged": counts.unchanged,
        "parked": counts.parked,
        "unparked": counts.unparked,
        "rejected": counts.rejected,
        "dead_lettered": counts.dead_lettered,
    }


def main() -> None:
    """`python -m flows.consume registration|vote [options]`: one consumer run."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("topic", choices=[REGISTRATION_TOPIC, VOTE_TOPIC])
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--max-messages", type=int)
    parser.add_argument("--idle-timeout", type=float, default=10.0)
    parser.add_argument("--follow", action="store_true")
    parser.add_argument("--until-caught-up", action="store_true")
    parser.add_argument("--group-id")
    args = parser.parse_args()
    run = consume_registrations if args.topic == REGISTRATION_TOPIC else consume_votes
    summary = asyncio.run(
        run(
            batch_size=args.batch_size,
            max_messages=args.max_messages,
            idle_timeout_s=args.idle_timeout,
            follow=args.follow,
            group_id=args.group_id,
            until_caught_up=args.until_caught_up,
        )
    )
    print(summary)


if __name__ == "__main__":
    main()
