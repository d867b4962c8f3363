"""The work engine: jobs and durable timers in PostgreSQL, and the workers that run them.

A job is enqueued in the transaction of the business write that causes it
(`service.enqueue`), claimed by a worker with `FOR UPDATE SKIP LOCKED` under a
lease, and run by the handler registered for its kind (`registry.handler`).
"""
