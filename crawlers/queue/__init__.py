"""The Redis queue between `policywatch crawl --redis` and the `policywatch worker`s.

When one machine is not enough, `crawl` still plans what is due, but instead of fetching it pushes
one task per document (its whole declaration, so workers need no catalog of their own) to a Redis
list. Workers, long-running Scrapy crawlers reading that list through scrapy-redis
(`crawlers/worker.py`), fetch and record into the store they share (PostgreSQL), and
push each document's outcome to the crawl's own list, which `crawl` reads to print its summary
and exit code as a local crawl does.

A worker moves the tasks it takes to a list of its own (`take`), and removes each once reported:
when a worker dies, `crawl` puts the tasks of its own that the dead worker held back in the queue
for the live ones (`rescue`). `crawl` stops waiting when every document is reported, when no
worker is alive any more, or when no outcome came for `STALL` seconds; what is still queued is
then withdrawn, so no stale task is fetched later.

Two crawls of one store may overlap (cron lines on two machines, a manual crawl during cron's):
each claims the documents it queues, a Redis key per store and document that it renews while it
waits (`Claims`), and queues only those it claimed. A document another live crawl holds, or
fetched since this one planned, is left to it: this crawl reports it `elsewhere`, saying so. Both
fetched it before, and its host served it twice. A claim left unrenewed (its crawl killed
outright) is taken over. A task names its crawl's claim, and a worker drops a task whose crawl no
longer holds it: a crawl killed outright leaves its tasks queued; the next crawl queues the same
documents again, and the orphans fetched them twice (`claim_holders`). These modules are both
sides' protocol and the coordinator's loop: they import redis, not Scrapy, so that `crawl --redis`
starts as fast as a crawl with nothing due.

- connection.py: how every process reaches Redis (`connect`, `CLIENT_OPTIONS`), and names itself
  there (`process_name`), its password masked wherever it is shown (`masked`);
- tasks.py: a task on the wire (`encode_task`, `decode_task`);
- workers.py: the workers' signs of life, the tasks each holds, the outcomes they report, and the
  rescue of a dead worker's tasks;
- hosts.py: each host's download delay, kept by all the workers together (`host_turn`);
- claims.py: a crawl's claims on its documents (`Claims`), and a worker's check of them;
- coordinator.py: the crawl's side, the documents queued and their outcomes collected
  (`dispatch`).
"""
