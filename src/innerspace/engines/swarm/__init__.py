"""The Docker Swarm engine: each job is a one-replica Swarm service that may run on any node.

Nodes share no filesystem with the service. A stage server (engines/staging/server.py) runs
as a container on this manager node, with the jobs directory mounted; each job gets an
internal overlay network of its own to it, joins that network only (plus the inner network
when its app needs inner APIs), fetches its inputs with a per-job token that dies with the
job, runs the app, and sends its results back (engines/staging/job.py, a Swarm config).

- `engine.py`: SwarmEngine, the Engine interface on a swarm;
- `tasks.py`: the one poll loop over the jobs' tasks, and how a task's end is judged;
- `staging.py`: the stage server, the jobs' networks and tickets, the wrapper's config;
- `objects.py`: the names and labels of what innerspace makes on a swarm, its overlay
  networks;
- `cleanup.py`: taking it down: a service's own when it stops, what stopped or crashed
  services left (`innerspace swarm clean`), or everything.
"""

from __future__ import annotations

from innerspace.engines.swarm.cleanup import CleanReport, clean_swarm, remove_swarm_objects
from innerspace.engines.swarm.engine import SwarmEngine

__all__ = ["CleanReport", "SwarmEngine", "clean_swarm", "remove_swarm_objects"]
