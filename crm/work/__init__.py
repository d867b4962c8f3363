"""The work engine: jobs and durable timers in PostgreSQL, and the workers that run them.

A job is enqueued in the transaction of the business write that causes it
(`service.enqueue`), claimed by a worker with `FOR UPDATE SKIP LOCKED` under a
lease, and run by the handler registered for its kind (`registry.handler`).

How the parts built on it use it:

- A workflow step (a sequence's) is a `database` job: its effect, its
  completion, and the next step (`enqueue(..., run_at=now + delay,
  key="enrollment:<id>:step:<n>")`) commit together, so a step runs once and a
  wait of days is a pending row with an indexed due time. Cancelling an
  enrollment cancels its pending step by key (`service.cancel_by_key`).
- What leaves the process (an email, a webhook delivery) is an `external` job
  enqueued in that same transaction; its handler uses `job.id` as the
  idempotency key the receiver sees (Message-ID, webhook-id) and raises
  `RetryLater` for the protocol's own schedule (SMTP 4xx, `Retry-After`) or
  `Failed` for a permanent refusal.
- Work that recurs (purges) is `service.periodic`: one job per period, keyed by
  the period, each run enqueueing the next.
"""
