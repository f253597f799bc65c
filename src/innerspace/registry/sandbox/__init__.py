"""Where RegTAP queries run: in worker processes of their own, one per query slot, so that
whatever one query costs -- SQLite's sorts, strings, temporary files, a Python function
that will not end -- is bounded by limits on that process and ends when it is killed, never
in the service's own memory or time.

- `limits`: what a query may take (`QueryLimits`, from the registry settings);
- `deadline`, `functions`, `guard`: the time limit, the RegTAP functions that check it, and
  the limits, functions and authorizer put on a query's SQLite connection;
- `fetch`: a result read row by row up to its rows and bytes;
- `frames`: the messages between the service and a worker;
- `worker`: the worker process (`python -m innerspace.registry.sandbox.worker`);
- `pool`: the service's side: its workers, started when needed, killed past the deadline.

The modules a worker imports need the standard library only, so a worker starts in a
fraction of a second and holds little memory.
"""
