"""Resolving `name[:version]` against a catalogue's images: natural version order, the
highest version by default, an exact version on request, and messages that say what exists.
No Docker: AppImage objects are built from manifests directly."""

from __future__ import annotations

import random

import pytest

from innerspace.apps.catalogue import AppImage, UnknownAppError, pick, split_reference, version_key
from innerspace.apps.manifest import validate_manifest


def image(name: str, version: str) -> AppImage:
    manifest = validate_manifest({"name": name, "version": version, "title": name.title(),
                                  "run": {"module": "app"}})
    return AppImage(manifest, f"sha256:{name}-{version}")


# -- version_key ---------------------------------------------------------------------------


@pytest.mark.parametrize(("higher", "lower"), [
    ("1.10", "1.9"),
    ("1.9", "1.9rc1"),
    ("1.10", "1.9rc1"),
    ("2.0", "1.99"),
    ("1.0.1", "1.0"),
    ("1.0", "1.0rc2"),
    ("1.0rc2", "1.0rc1"),
    ("1.0rc1", "1.0b3"),
    ("1.0b1", "1.0a9"),
    ("10", "9"),
    ("1.0.0", "0.99.99"),
])
def test_version_order(higher: str, lower: str) -> None:
    assert version_key(higher) > version_key(lower)


def test_version_order_is_case_insensitive_for_suffixes() -> None:
    assert version_key("1.0RC1") == version_key("1.0rc1")


def test_sorting_many_versions() -> None:
    expected = ["0.9", "1.0a1", "1.0rc1", "1.0", "1.0.1", "1.2", "1.9rc1", "1.9", "1.10",
                "1.99", "2.0"]
    shuffled = expected[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=version_key) == expected


# -- references ----------------------------------------------------------------------------


def test_split_reference() -> None:
    assert split_reference("hello") == ("hello", None)
    assert split_reference("hello:1.2") == ("hello", "1.2")
    assert split_reference(" hello:1.2 ") == ("hello", "1.2")
    assert split_reference("hello:") == ("hello", None)


def test_reference_without_a_name() -> None:
    with pytest.raises(UnknownAppError, match="has no name"):
        split_reference(":1.0")


# -- pick ----------------------------------------------------------------------------------


IMAGES = [image("hello", "1.9"), image("hello", "1.10"), image("hello", "1.9rc1"),
          image("hello", "1.2"), image("fits-stats", "2.0"), image("fits-stats", "1.99")]


def test_pick_highest_version_by_default() -> None:
    chosen = pick(IMAGES, "hello")
    assert chosen.version == "1.10"
    assert chosen.image == "sha256:hello-1.10"
    assert pick(IMAGES, "fits-stats").version == "2.0"


def test_pick_an_exact_version() -> None:
    assert pick(IMAGES, "hello:1.9").image == "sha256:hello-1.9"
    assert pick(IMAGES, "hello:1.9rc1").image == "sha256:hello-1.9rc1"
    assert pick(IMAGES, "fits-stats:1.99").version == "1.99"


def test_pick_is_independent_of_order() -> None:
    assert pick(list(reversed(IMAGES)), "hello").version == "1.10"


def test_unknown_app_lists_known_apps() -> None:
    with pytest.raises(UnknownAppError) as caught:
        pick(IMAGES, "goodbye")
    assert str(caught.value) == "unknown app 'goodbye'; known apps: fits-stats, hello"


def test_unknown_app_in_an_empty_catalogue() -> None:
    with pytest.raises(UnknownAppError) as caught:
        pick([], "hello")
    assert str(caught.value) == "unknown app 'hello'; no apps are available"


def test_unknown_version_lists_versions_in_order() -> None:
    with pytest.raises(UnknownAppError) as caught:
        pick(IMAGES, "hello:3.0")
    assert str(caught.value) == (
        "app 'hello' has no version '3.0'; versions: 1.2, 1.9rc1, 1.9, 1.10")


def test_names_are_matched_exactly() -> None:
    with pytest.raises(UnknownAppError, match="unknown app 'Hello'"):
        pick(IMAGES, "Hello")
