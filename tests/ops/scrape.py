"""Reading a /metrics page in tests, with the client library's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def samples(text: str, name: str, **labels: str) -> list[Sample]:
    """The samples of one name whose labels include `labels`."""
    return [
        found
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if found.name == name and all(found.labels.get(k) == v for k, v in labels.items())
    ]


def sample(text: str, name: str, **labels: str) -> float:
    """A sample's value; 0 while the series does not exist yet."""
    found = samples(text, name, **labels)
    return float(found[0].value) if found else 0.0
