"""The outbox: what each subscription is owed, and the life of every delivery.

Deliveries are rows, written before anything is sent, so nothing owed is lost when a channel is
down or the process dies: `owed.queue_owed` records what is owed (with `follow_ups` and
`fetch_events`), `claims.claim` marks rows `sending` in a committed transaction of its own just
before the send, `outcomes.record_delivered` notes each destination that takes it as it does,
and `outcomes.mark_sent` / `mark_failed` record the outcome right after. A row left `sending` by
a crash is claimable again only after a lease, and then goes only to the destinations not on
record, so a pair reaches each at most once under normal operation. `waiting` counts what a run
leaves waiting, `given_up` what was given up, by document. The store knows nothing of Apprise:
the notifier hands it outcomes as plain strings.
"""
