"""Scraping a real process's /metrics and reading a sample out of it."""
from __future__ import annotations

import re

import httpx
from prometheus_client.parser import text_string_to_metric_families


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """``{(sample name, sorted label items): value}`` of one scrape."""
    text = httpx.get(url, timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def metrics_url(printed: str) -> str | None:
    """The metrics address a command printed at start."""
    found = re.search(r"metrics:\s+(http://\S+/metrics)", printed)
    return found.group(1) if found else None
