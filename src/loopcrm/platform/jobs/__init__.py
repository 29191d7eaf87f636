"""The durable job queue and scheduler: background work stored in our own database.

Jobs are rows of the ``jobs`` table, written in the caller's unit of work, so a job exists
exactly when the change that asked for it was committed. Workers claim one job at a time under
a lease; a handler's database effects commit together with the job's completion. See
``docs/adr/0003-job-queue.md`` for why this is not an external queue library.
"""
