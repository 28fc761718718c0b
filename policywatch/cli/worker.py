"""`policywatch worker`: fetch what `crawl --redis` queues, for as long as the service runs."""

from __future__ import annotations

from typing import Annotated

import typer

from crawlers.items import CrawlOutcome
from policywatch.cli.common import (
    DbOption,
    RulesOption,
    check_overrides,
    checked_rules,
    connected,
    engine,
    err_console,
    fail,
    fetch_settings,
    note,
    settings,
)
from policywatch.cli.crawl import SetOption, parse_overrides
from store.db import public_url

QueueOption = Annotated[
    str | None,
    typer.Option(
        "--redis",
        help="Redis URL of the queue shared with `crawl --redis` (default: env "
        "POLICYWATCH_REDIS or the config file).",
        show_default=False,
    ),
]


def worker(
    redis: QueueOption = None,
    db: DbOption = None,
    rules: RulesOption = None,
    set_: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per document.")] = False,
) -> None:
    """Fetch the documents that `crawl --redis` queues and record them, until stopped.

    Give it the --redis and --db of the crawls. SIGTERM or Ctrl-C stops it after the pages in hand.

    Exit codes: 0 stopped, 2 bad configuration, Redis or the store unusable (said on stderr).\f

    Run one per machine (a systemd service, say). The documents it took and did not start go back
    to the queue at once as it stops, for another worker. systemd's `Restart=on-failure` restarts
    it on exit 2: a store or Redis not up yet at boot, say.
    """
    config = settings()
    url = redis or config.redis
    if not url:
        fail(
            "a worker needs the Redis it shares with crawls: --redis URL, POLICYWATCH_REDIS,"
            ' or redis = "URL" in the config file'
        )
    connected(url, redis)  # a wrong URL or a Redis that is down fails now, not in Scrapy's log
    store = engine(db)  # open and migrate before taking work
    rule_files, overrides = checked_rules(rules), parse_overrides(set_ or [])
    from crawlers.queue.connection import CLIENT_OPTIONS, masked, process_name
    from crawlers.runner import CrawlAborted, run_worker

    check_overrides(overrides)  # in the service's log, as a crawl with --set says it

    # Workers space the requests to a host together (crawlers/middlewares.py): a random share of
    # each one's own delay would let two workers' requests come closer than the delay.
    # scrapy-redis's client talks to Redis as the queue's others do (its own timeouts: 30 s,
    # retried).
    service = {"REDIS_URL": url, "REDIS_PARAMS": CLIENT_OPTIONS, "DOWNLOAD_DELAY_JITTER": 0}
    scrapy_settings = fetch_settings(db, config, rule_files, {**service, **overrides})
    name = process_name()
    where = public_url(store.url)
    if store.url.get_backend_name() == "sqlite":
        note(
            "a SQLite store is shared only by workers on this machine; "
            "use PostgreSQL when workers run on several machines"
        )
    err_console.print(
        f"worker {name}: taking documents from {masked(url)}, recording into {where} "
        "(Ctrl-C stops)",
        highlight=False,
        markup=False,  # an IPv6 host's [brackets] would be read as markup
    )

    def done(outcome: CrawlOutcome) -> None:
        if not quiet:
            detail = f" {outcome.detail}" if outcome.detail else ""
            line = f"{outcome.key}: {outcome.outcome}{detail}"  # a reason may hold [brackets]
            err_console.print(line, highlight=False, markup=False)

    try:
        run_worker(scrapy_settings, name, done)
    except CrawlAborted as error:
        fail(str(error))
