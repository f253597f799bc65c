"""Which inner APIs a job is given: exactly those its app requires, found by kind and
collection; what is lacking is named."""

from __future__ import annotations

from typing import Any

import pytest

from innerspace.apps.manifest import ManifestError, validate_manifest
from innerspace.config import DataCentre
from innerspace.inner.binding import MissingInnerApis, bind, missing

DC = DataCentre(authority="ivo://x.example", inner_apis=[
    {"name": "tap", "kind": "tap", "url": "http://tap.inner/tap", "collections": ["gaia"]},
    {"name": "imgs", "kind": "posix-collection", "path": "/srv/imgs",
     "collections": ["sky", "deep"]},
    {"name": "store", "kind": "s3", "url": "http://s3.inner", "bucket": "cutouts"}])


def app(*needs: dict[str, Any]) -> Any:
    return validate_manifest({"name": "a", "version": "1", "title": "A",
                              "run": {"module": "a"}, "inner_apis": list(needs)})


def test_nothing_required_nothing_given() -> None:
    binding = bind(DC, app())
    assert binding.services == {} and binding.mounts == [] and binding.network is False
    assert binding.env == {}


def test_collection_is_mounted_alone_and_read_only_paths_are_listed() -> None:
    binding = bind(DC, app({"kind": "posix-collection", "collection": "deep"}))
    assert binding.mounts == [("/srv/imgs", "/data/deep")]
    assert binding.network is False, "a mount needs no network"
    entry = binding.services["posix-collection"][0]
    assert entry["path"] == "/data/deep" and entry["paths"] == {"deep": "/data/deep"}
    assert binding.env == {"INNERSPACE_DATA_DEEP": "/data/deep"}


def test_network_kinds_join_the_inner_network() -> None:
    binding = bind(DC, app({"kind": "tap", "collection": "gaia"}, {"kind": "s3"}))
    assert binding.network is True
    assert binding.env == {"INNERSPACE_TAP_URL": "http://tap.inner/tap",
                           "INNERSPACE_S3_URL": "http://s3.inner"}
    document = binding.document()
    assert document["standard_ids"]["ivo://ivoa.net/std/TAP"][0]["url"] == (
        "http://tap.inner/tap")
    assert document["kinds"]["s3"][0]["bucket"] == "cutouts"


def test_what_is_missing_is_named() -> None:
    manifest = app({"kind": "tap", "collection": "2mass"}, {"kind": "sia2"},
                   {"kind": "posix-collection", "collection": "sky"})
    assert missing(DC, manifest) == ["tap with collection '2mass'", "sia2"]
    with pytest.raises(MissingInnerApis, match="tap with collection '2mass', sia2"):
        bind(DC, manifest)


def test_unknown_kinds_are_refused_in_manifests() -> None:
    with pytest.raises(ManifestError, match="unknown inner API kind 'ftp'"):
        app({"kind": "ftp"})
