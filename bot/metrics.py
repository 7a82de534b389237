"""Prometheus metrics, one registry per app so several apps (tests, instances) never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "claimbot_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "claimbot_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.events = Counter(
            "claimbot_events",
            "Inbound events by platform, kind and outcome (new, duplicate)",
            ["platform", "kind", "outcome"],
            registry=self.registry,
        )
        self.handled = Counter(
            "claimbot_events_handled",
            "Inbound events run through the handlers, by outcome (ok, retry, dead)",
            ["outcome"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "claimbot_deliveries",
            "Outbound deliveries by topic and outcome (ok, retry, dead)",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "claimbot_queue_depth",
            "Rows in the durable queue by topic and state (live, dead)",
            ["topic", "state"],
            registry=self.registry,
        )
        self.worker_up = Gauge(
            "claimbot_worker_up", "1 while a supervised worker runs", ["worker"],
            registry=self.registry,
        )
        self.worker_restarts = Gauge(
            "claimbot_worker_restarts", "Times a worker was restarted after a crash", ["worker"],
            registry=self.registry,
        )

        self.rate_limited = Counter(
            "claimbot_rate_limited",
            "Requests answered 429, by route and reason (route, sender)",
            ["route", "reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
