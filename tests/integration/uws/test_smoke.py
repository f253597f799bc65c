"""A first end-to-end check: a hello job runs and its greeting comes back."""

from tests.support.services import LiveService
from tests.support.xmlcheck import SchemaSet


def test_hello_round_trip(service: LiveService, xml_schemas: SchemaSet) -> None:
    with service.client() as http:
        created = http.post("/jobs", data={"app": "hello", "name": "Vera", "PHASE": "RUN"})
        assert created.status_code == 303
        job_url = created.headers["location"]
        job = http.get(job_url, params={"WAIT": 30})
        root = xml_schemas.validate(job.content)
        phase = root.findtext("{http://www.ivoa.net/xml/UWS/v1.0}phase")
        while phase in ("QUEUED", "EXECUTING"):
            job = http.get(job_url, params={"WAIT": 30})
            phase = xml_schemas.validate(job.content).findtext(
                "{http://www.ivoa.net/xml/UWS/v1.0}phase")
        assert phase == "COMPLETED"
        assert http.get(f"{job_url}/results/greeting.txt").text == "Hello, Vera!\n"
