"""Python client of an innerspace service: submit jobs, watch them, fetch their results.

    from innerspace.client import Client

    job = Client("http://127.0.0.1:8000").submit("hello", name="Ada")
    job.wait()
    print(job.phase, job.results)
    job.download("results/")
"""

from innerspace.client.errors import ClientError
from innerspace.client.uws import Client, JobHandle, JobStatus, ResultRef

__all__ = ["Client", "ClientError", "JobHandle", "JobStatus", "ResultRef"]
