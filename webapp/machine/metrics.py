"""Prometheus metrics for the machine APIs, correct across gunicorn workers (multiprocess mode).

With PROMETHEUS_MULTIPROC_DIR set (docker/boot.sh sets it), every worker writes its samples to
files there and /metrics sums them; without it, one process serves its own registry.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("agentdesk_api_requests_total", "Machine API requests answered.",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("agentdesk_api_request_duration_seconds", "Machine API latency, from routing to response.",
                    ["endpoint"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
ERRORS = Counter("agentdesk_api_errors_total", "Machine API error answers by spec error code.", ["endpoint", "code"])
RATE_LIMITED = Counter("agentdesk_api_rate_limited_total", "Requests refused with 429.", ["endpoint"])


# Each endpoint, method and status's two series, looked up once (labels() validates and locks each time).
_SERIES: dict[tuple, tuple] = {}


def observe(endpoint: str, method: str, status: int, seconds: float, error_code: str | None) -> None:
    series = _SERIES.get((endpoint, method, status))
    if series is None:
        series = _SERIES[(endpoint, method, status)] = (REQUESTS.labels(endpoint, method, str(status)),
                                                        LATENCY.labels(endpoint))
    series[0].inc()
    series[1].observe(seconds)
    if error_code:
        ERRORS.labels(endpoint, error_code).inc()
    if status == 429:
        RATE_LIMITED.labels(endpoint).inc()


def exposition(multiprocess_dir: str | None) -> tuple[bytes, str]:
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
