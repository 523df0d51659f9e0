"""The push feed (issue #17): deliveries per second to a local receiver, and the time from
issuing a certificate to its delivered event.

    .venv/bin/python -m bench.feed [events] [latency_seconds] [--profile]

1. **Throughput.** ``events`` issued events of as many different certificates, written as
   issuing writes them (the certificate row, its outbox row, its event, in one transaction;
   no PDF is rendered) and anchored on the embedded anvil node first, so that every message
   carries a real receipt. The feed worker (16 posting threads, claims of 64) delivers them
   to one receiver, entitled to personal data (holder, download link), on the loopback: a
   bare ASGI app under uvicorn + uvloop + httptools in its own process, answering 204.
   Baseline in the same run: the same signed bodies and headers posted with bare httpx from a
   thread pool of the same size, to the same receiver.
2. **Latency.** Certificates really issued (signed) one at a time at a steady pace, with the
   anchoring worker and the feed worker running as threads of this process, as in
   ``notary serve``, with the default batch age (5 s): the time from the issued event's
   commit to its delivery, split into anchoring (commit to batch confirmed; the issued event
   waits for its receipt by design), fan-out (to the delivery row) and posting (to the 2xx
   recorded).
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import os
import pstats
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from anchoring.models import AnchorBatch, OutboxEntry
from anchoring.outbox import enqueue
from bench.common import applicant, emit, free_port, percentile, temp_runtime, wait_up
from feed import events as feed_events
from feed import payloads
from feed.models import DeliveryState, EventKind, FeedDelivery, FeedEvent, FeedReceiver
from feed.receivers import add_receiver, signing_secrets
from issuer.service import issue_certificate
from processes.background import stopped_after
from records.models import Certificate
from records.numbers import format_number
from storage.clock import utcnow
from storage.sessions import write_session
from webhooks import signature


def start_receiver() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.feed_receiver:app", "--port", str(port),
                             "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
                             "--no-access-log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_up(url)
    return proc, f"{url}/hook"


def seed(rt, n: int) -> None:
    """``n`` certificates as issuing stores them: one really issued, the others its copies
    with their own ids, numbers and digests, without PDFs; all anchored."""
    template = issue_certificate(rt.issuer_context(), "birth", applicant(0))
    with Session(rt.engine) as s:
        base = s.get(Certificate, template.id)
        assert base is not None
        fields = base.model_dump(exclude={"id", "number", "serial", "document_sha256", "issued_at"})
        serial = base.serial
    year = fields["year"]
    for start in range(1, n, 500):
        with write_session(rt.engine) as s:
            for _ in range(start, min(start + 500, n)):
                cid, digest, serial = uuid.uuid4(), os.urandom(32), serial + 1
                number = format_number(year, rt.office.abbrev, serial)
                s.add(Certificate(id=cid, number=number, serial=serial, document_sha256=digest.hex(), **fields))
                enqueue(s, cid, digest, rt.office.code)
                feed_events.append(s, EventKind.ISSUED, rt.office.code, cid, {
                    "number": number, "matter": "birth", "issue_date": dt.date.today().isoformat(),
                    "document_sha256": digest.hex()})
            s.commit()
    worker = rt.worker()
    while True:
        with Session(rt.engine) as s:
            left = s.exec(select(func.count()).select_from(OutboxEntry).where(col(OutboxEntry.batch_id).is_(None))).one()
        if not left:
            break
        worker.run_once(force=True)


def pending(rt) -> int:
    with Session(rt.engine) as s:
        waiting = s.exec(select(func.count()).select_from(FeedEvent).where(col(FeedEvent.fanned_out_at).is_(None))).one()
        due = s.exec(select(func.count()).select_from(FeedDelivery)
                     .where(FeedDelivery.state == DeliveryState.PENDING.value)).one()
    return waiting + due


def signed_bodies(rt, receiver_id: uuid.UUID) -> list[tuple[bytes, dict[str, str]]]:
    """Each event's body and headers for the receiver, built as the worker builds them."""
    now = utcnow()
    found = []
    with Session(rt.engine) as s:
        receiver = s.get(FeedReceiver, receiver_id)
        secrets_ = signing_secrets(receiver, rt.feed_config.sealing_key, now)
        for event in s.exec(select(FeedEvent).order_by(col(FeedEvent.seq))):
            body = payloads.body(s, event, receiver, rt.feed_config.links, now)
            headers = signature.headers(secrets_, payloads.message_id(event), body)
            headers["content-type"] = "application/json"
            found.append((body, headers))
    return found


def throughput(n: int, profile: bool) -> dict:
    rt = temp_runtime(feed_allow_insecure_receivers=True, signature_level="B-B")
    receiver_proc, url = start_receiver()
    try:
        t = time.perf_counter()
        seed(rt, n)
        print(f"seeded and anchored {n:,} certificates and their issued events in {time.perf_counter() - t:.1f} s")
        receiver, _ = add_receiver(rt.engine, rt.feed_config.sealing_key, name="一网通办", url=url, actor="bench",
                                   office_code=rt.office.code, personal_data=True, allow_insecure=True)
        worker = rt.feed_worker()
        profiler = cProfile.Profile() if profile else None
        passes = 0
        try:
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            while True:
                passes += 1
                if worker.run_once() == 0 and pending(rt) == 0:
                    break
            feed_seconds = time.perf_counter() - start
            if profiler:
                profiler.disable()
        finally:
            worker.close()
        with Session(rt.engine) as s:
            delivered = s.exec(select(func.count()).select_from(FeedDelivery)
                               .where(FeedDelivery.state == DeliveryState.DELIVERED.value)).one()
            attempts = s.exec(select(func.sum(FeedDelivery.attempts))).one()
        assert delivered == n, (delivered, n)

        bodies = signed_bodies(rt, receiver.id)
        config = rt.feed_config
        with httpx.Client(timeout=config.timeout_seconds, limits=httpx.Limits(max_connections=config.concurrency * 2)) \
                as client, ThreadPoolExecutor(config.concurrency) as pool:
            def post(item: tuple[bytes, dict[str, str]]) -> int:
                return client.post(url, content=item[0], headers=item[1]).status_code

            list(pool.map(post, bodies[:200]))  # warm up the connections
            start = time.perf_counter()
            statuses = list(pool.map(post, bodies))
            bare_seconds = time.perf_counter() - start
        assert set(statuses) == {204}
        rate, bare = n / feed_seconds, n / bare_seconds
        size = sum(len(b) for b, _ in bodies) / len(bodies)
        print(f"feed: {n:,} deliveries in {feed_seconds:.2f} s = {rate:,.0f}/s ({passes} passes, "
              f"{attempts} attempts; body {size:,.0f} bytes)")
        print(f"bare httpx, same bodies, same receiver, {config.concurrency} threads: {bare:,.0f}/s   "
              f"ratio {rate / bare:.2f}")
        if profiler:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(25)
            print(out.getvalue())
        return {"events": n, "deliveries_per_second": round(rate), "bare_per_second": round(bare),
                "ratio": round(rate / bare, 2), "passes": passes, "body_bytes": round(size)}
    finally:
        receiver_proc.terminate()
        receiver_proc.wait(30)
        rt.close()


def latency(seconds: float, per_second: float) -> dict:
    rt = temp_runtime(feed_allow_insecure_receivers=True)
    receiver_proc, url = start_receiver()
    try:
        add_receiver(rt.engine, rt.feed_config.sealing_key, name="一网通办", url=url, actor="bench",
                     office_code=rt.office.code, personal_data=True, allow_insecure=True)
        ctx = rt.issuer_context()
        issue_certificate(ctx, "birth", applicant(0))  # warm up (fonts, keys) before the clock
        batch_age = rt.settings.batch_age_seconds
        issued = 0
        with stopped_after(rt.start_worker_thread()), stopped_after(rt.start_feed_thread()):
            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                issue_certificate(ctx, "birth", applicant(issued + 1))
                issued += 1
                ahead = issued / per_second - (time.perf_counter() - start)
                if ahead > 0:
                    time.sleep(ahead)
            deadline = time.monotonic() + batch_age + 120
            while pending(rt) and time.monotonic() < deadline:
                time.sleep(0.2)
        with Session(rt.engine) as s:
            rows = s.exec(select(FeedEvent.created_at, AnchorBatch.confirmed_at, FeedDelivery.created_at,
                                 FeedDelivery.delivered_at)
                          .join(OutboxEntry, col(OutboxEntry.certificate_id) == FeedEvent.certificate_id)
                          .join(AnchorBatch, col(AnchorBatch.id) == OutboxEntry.batch_id)
                          .join(FeedDelivery, col(FeedDelivery.event_seq) == FeedEvent.seq)
                          .where(FeedEvent.kind == EventKind.ISSUED.value)).all()
            batches = s.exec(select(func.count()).select_from(AnchorBatch)).one()
        done = [r for r in rows if r[3] is not None]
        total = [(d - e).total_seconds() for e, _, _, d in done]
        anchoring = [(c - e).total_seconds() for e, c, _, _ in done]
        fanning = [(f - c).total_seconds() for _, c, f, _ in done]
        posting = [(d - f).total_seconds() for _, _, f, d in done]

        def p(values: list[float]) -> str:
            return f"p50 {percentile(values, 50):5.2f} s   p95 {percentile(values, 95):5.2f} s"

        print(f"{len(done)} of {issued + 1} issued events delivered ({issued} issued at {per_second:g}/s over "
              f"{seconds:g} s, {batches} anchoring batches, batch age {batch_age:g} s)")
        print(f"issue -> delivered      {p(total)}")
        print(f"  anchoring (receipt)   {p(anchoring)}")
        print(f"  fan-out               {p(fanning)}")
        print(f"  posting               {p(posting)}")
        return {"latency_events": len(done), "batch_age_s": batch_age,
                "latency_p50_s": round(percentile(total, 50), 2), "latency_p95_s": round(percentile(total, 95), 2),
                "anchoring_p50_s": round(percentile(anchoring, 50), 2),
                "anchoring_p95_s": round(percentile(anchoring, 95), 2),
                "fanout_p50_s": round(percentile(fanning, 50), 2), "fanout_p95_s": round(percentile(fanning, 95), 2),
                "posting_p50_s": round(percentile(posting, 50), 3), "posting_p95_s": round(percentile(posting, 95), 3)}
    finally:
        receiver_proc.terminate()
        receiver_proc.wait(30)
        rt.close()


def main(n: int, seconds: float, profile: bool) -> None:
    result = {"benchmark": "feed"}
    result.update(throughput(n, profile))
    if seconds > 0:
        result.update(latency(seconds, per_second=2.0))
    emit(result)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 5_000, float(args[1]) if len(args) > 1 else 60.0, "--profile" in sys.argv)
