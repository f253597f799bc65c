"""Data centres as the tests describe them (their `datacentre` settings): WFAU, whose
records the registry tests check field by field, and the data centres of the federation
tests, each holding one data collection."""

from __future__ import annotations

from typing import Any


def datacentre(authority: str, name: str, collection: str) -> dict[str, Any]:
    """The `datacentre` settings of a data centre holding one data collection."""
    return {"authority": authority, "name": name, "short_name": name[:8],
            "contact": {"name": f"{name} help", "email": "help@example.org"},
            "services": [{"name": "tap", "title": f"{name} TAP service",
                          "standard_id": "ivo://ivoa.net/std/TAP",
                          "access_url": f"https://{authority[6:]}/tap"}],
            "inner_apis": [{"name": "archive", "kind": "tap", "url": "http://tap.inner/tap",
                            "collections": [collection]},
                           {"name": collection, "kind": "posix-collection",
                            "path": f"/srv/{collection}", "collections": [collection]}]}


WFAU: dict[str, Any] = {
    "authority": "ivo://wfau.example", "name": "Wide Field Astronomy Unit",
    "short_name": "WFAU", "publisher": "WFAU, University of Edinburgh",
    "contact": {"name": "WFAU helpdesk", "email": "help@wfau.example"},
    "services": [{"name": "tap", "title": "WFAU TAP", "standard_id": "ivo://ivoa.net/std/TAP",
                  "access_url": "https://wfau.example/tap", "subjects": ["surveys"]}],
    "inner_apis": [
        {"name": "tap", "kind": "tap", "url": "http://tap.inner:8080/tap",
         "collections": ["ukidss"]},
        {"name": "ukidss-images", "kind": "posix-collection", "path": "/srv/ukidss",
         "collections": ["ukidss"]}],
}
WFAU_BASE = "https://compute.wfau.example/innerspace"  # where WFAU's innerspace answers
