"""The service's Prometheus metrics (the official client).

With several processes (``notary serve --workers N``, a separate ``notary worker``) the
client's multiprocess mode is used: ``PROMETHEUS_MULTIPROC_DIR`` names a directory each
process writes its samples to, set before this module is first imported
(observability.multiprocess), and ``/metrics`` adds them up. Labels hold only what is bounded
and not personal: matter, level, indication, code, route, outcome.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.registry import REGISTRY, Collector

from .multiprocess import MULTIPROCESS_ENV

CERTIFICATES_ISSUED = Counter("notary_certificates_issued_total", "Certificates issued (stored)",
                              ["matter", "level"])
ISSUE_SECONDS = Histogram("notary_issue_seconds", "Time to issue one certificate, from the request's "
                          "checks to its commit (a batch: its time per certificate)", ["matter", "level"],
                          buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
ANCHOR_TRANSACTIONS = Counter("notary_anchor_transactions_total", "Anchoring transactions, by outcome",
                              ["outcome"])
ANCHOR_GAS = Counter("notary_anchor_gas_used_total", "Gas used by confirmed anchoring transactions")
VERIFICATIONS = Counter("notary_verifications_total", "Verification reports made, by indication and by the "
                        "code of the first check that did not pass", ["indication", "code"])
FORGERY_LEADS = Counter("notary_forgery_leads_total", "Forgery leads (verifier.leads), by route and outcome: "
                        "recorded, over_budget (past the per-process budget: counted only) or not_written "
                        "(the database or the writer's queue refused it)", ["route", "outcome"])
RATE_LIMITED = Counter("notary_rate_limited_total", "Requests refused by a rate limit", ["limit"])
SIGNING_POOL_RESTARTS = Counter("notary_signing_pool_restarts_total", "Times the signing pool started afresh "
                                "after a signing process died")
CHAIN_NODE_RESTARTS = Counter("notary_chain_node_restarts_total", "Times the embedded chain node was started "
                              "again after it died")
FEED_DELIVERIES = Counter("notary_feed_deliveries_total", "Feed webhook attempts, by outcome: delivered, "
                          "failed (to be retried) or dead (dead-lettered)", ["outcome"])
REGISTRY_SUBSCRIPTIONS = Counter("notary_registry_subscriptions_total", "Registries' subscriptions to "
                                 "certificates, by outcome: added, refused (not verified by the key, or no such "
                                 "certificate) or removed", ["outcome"])
FEED_DELIVERY_SECONDS = Histogram("notary_feed_delivery_seconds", "From an event to its delivery (an issued "
                                  "event waits for its anchor)", buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600))


def exposition(extra: Collector | None = None) -> tuple[bytes, str]:
    """The text of ``/metrics`` and its content type: this process's metrics, or every
    process's in multiprocess mode, then ``extra`` (gauges read at scrape time)."""
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in the client
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    if extra is not None:
        scraped = CollectorRegistry()
        scraped.register(extra)
        text += generate_latest(scraped)
    return text, CONTENT_TYPE_LATEST
