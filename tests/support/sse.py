"""Reading a server-sent event stream (the job page's /portal/jobs/{id}/events) as a browser's
EventSource does: events of fields, the last event id kept across events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    name: str
    data: Any  # the JSON of its data
    last_id: str  # the stream's last event id once this event came (EventSource.lastEventId)


def events(response: httpx.Response) -> Iterator[Event]:
    """The events of a streaming response, as they come."""
    name, data, last_id = "message", "", ""
    for line in response.iter_lines():
        if not line:
            if data:
                yield Event(name, json.loads(data), last_id)
            name, data = "message", ""
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data += value
            elif field == "id":
                last_id = value


def output_lines(event: Event) -> list[tuple[str, str]]:
    """(stream, text) of an `output` event's lines."""
    return [(stream, text) for stream, text in event.data["lines"]]
