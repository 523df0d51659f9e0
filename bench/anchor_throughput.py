"""Certificates through the outbox: leaves anchored per second, and the latency from
issuance (the outbox row) to a confirmed receipt, on the embedded anvil node.

    .venv/bin/python -m bench.anchor_throughput [certificates] [rate_per_second]

Certificates are enqueued the way issuing does it (outbox rows in small transactions) at
a steady rate, without rendering PDFs, so the anchoring path alone is measured. Baseline
in the same run: one anchor transaction per certificate, for the first 200 certificates.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid

from sqlmodel import Session, select

from anchoring.models import AnchorBatch, OutboxEntry
from anchoring.outbox import enqueue
from bench.common import emit, percentile, temp_runtime

BATCH_AGE = 5.0


def main(total: int, rate_per_second: float) -> None:
    rt = temp_runtime(batch_age_seconds=BATCH_AGE, batch_size=1000)
    try:
        # Baseline: anchoring each certificate alone (what per-document anchoring costs).
        reg, account = rt.registry, rt.accounts.anchor
        t = time.perf_counter()
        for _ in range(200):
            reg.transact(account, "anchor", os.urandom(32), 1, b"\x00" * 32)
        alone_rate = 200 / (time.perf_counter() - t)

        stop = threading.Event()
        worker_thread = threading.Thread(target=rt.worker().run_forever, args=(stop,), daemon=True)
        worker_thread.start()
        start = time.perf_counter()
        chunk = max(1, int(rate_per_second / 20))  # 20 small transactions a second
        sent = 0
        while sent < total:
            with Session(rt.engine) as s:
                for _ in range(min(chunk, total - sent)):
                    enqueue(s, uuid.uuid4(), os.urandom(32), rt.office.code)
                s.commit()
            sent += chunk
            ahead = sent / rate_per_second - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
        enqueue_seconds = time.perf_counter() - start
        # Wait for the last leaf to be confirmed.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with Session(rt.engine) as s:
                rows = s.exec(select(OutboxEntry.created_at, AnchorBatch.confirmed_at)
                              .join(AnchorBatch, AnchorBatch.id == OutboxEntry.batch_id, isouter=True)).all()
            if all(c is not None for _, c in rows):
                break
            time.sleep(0.5)
        stop.set()
        worker_thread.join(30)
        latencies = [(c - i).total_seconds() for i, c in rows if c is not None]
        first = min(i for i, _ in rows)
        last = max(c for _, c in rows if c is not None)
        span = (last - first).total_seconds()
        with Session(rt.engine) as s:
            batches = len(s.exec(select(AnchorBatch)).all())
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        print(f"{len(latencies):,} of {total:,} certificates anchored in {batches} batches over {span:.1f} s "
              f"(enqueued in {enqueue_seconds:.1f} s)")
        print(f"anchored leaves per second: {len(latencies) / span:,.0f}   (one tx per certificate: {alone_rate:,.0f}/s)")
        print(f"issue -> confirmed receipt: p50 {p50:.2f} s   p95 {p95:.2f} s   (target p95 <= {BATCH_AGE + 2:.0f} s)")
        emit({"benchmark": "anchor_throughput", "certificates": total, "anchored": len(latencies),
              "enqueue_rate": rate_per_second, "batches": batches,
              "leaves_per_second": round(len(latencies) / span), "alone_per_second": round(alone_rate),
              "latency_p50_s": round(p50, 2), "latency_p95_s": round(p95, 2), "batch_age_s": BATCH_AGE,
              "meets_target": p95 <= BATCH_AGE + 2})
    finally:
        rt.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000, float(sys.argv[2]) if len(sys.argv) > 2 else 1_000)
