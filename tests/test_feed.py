"""Issue #17, the push feed to the one-stop platform (一网通办): an outbox of certificate
events delivered to each office's receivers as Standard Webhooks, at least once, in order
per receiver and certificate.

Every receiver here is a real HTTP server on the loopback (``Receiver``: a
ThreadingHTTPServer that records each request and answers as a test tells it: down, slow,
500, Retry-After, or an answer lost after the message was filed), every certificate is
really issued, signed, stored and anchored on the test anvil, and every message is checked
with the ``standardwebhooks`` package (the scheme's own Python implementation, not ours).
The claim and order tests run on SQLite and PostgreSQL; the SIGKILL test runs
``notary worker`` as a process on PostgreSQL and kills it while it delivers.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import standardwebhooks
from eth_account import Account
from fastapi.testclient import TestClient
from prometheus_client.registry import REGISTRY
from sqlmodel import Session, col, select, update

from anchoring.accounts import fund_on_dev_node
from anchoring.receipt import AnchorReceipt
from anchoring.worker import AnchorWorker, WorkerConfig
from feed import dispatcher
from feed.deliveries import counts
from feed.dispatcher import FeedWorker, backoff, run_until_idle
from feed.errors import BadReceiver
from feed.fanout import fan_out
from feed.models import DeliveryState, FeedDelivery, FeedEvent, FeedReceiver
from feed.receivers import add_receiver, disable_receiver, enable_receiver, rotate_secret
from issuer.lifecycle import correct_certificate, revoke_certificate
from issuer.service import IssuedCertificate, IssueRequest, issue_batch, issue_certificate
from records import audit
from records.matters import EXAMPLES, parse_matter
from records.models import CertificateDocument
from records.revocation import RevocationReason
from storage.clock import utcnow
from storage.sessions import write_session
from tests.cli_runner import in_process_cli
from tests.conftest import free_port, stop_process_group
from tests.process_watch import wait_for
from webhooks import signature

NOTARY = Path(sys.executable).with_name("notary")
HOLDER = EXAMPLES["birth"]
# What a receiver without personal data must never see: the holder and the family named.
PERSONAL = [HOLDER[k] for k in ("applicant_name", "applicant_name_en", "id_number", "father_name", "mother_name")]


# ------------------------------------------------------------------------------ a receiver on the loopback

@dataclasses.dataclass
class Message:
    """One request as the receiver got it."""

    id: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    arrival: int  # its place among every request the receiver got
    attempt: int  # how many times this webhook-id had arrived, this one included

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return self.json["type"]

    @property
    def data(self) -> dict:
        return self.json["data"]


@dataclasses.dataclass
class Answer:
    status: int = 200
    delay: float = 0.0  # seconds before answering (a slow receiver)
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    drop: bool = False  # close the connection without an answer (the 2xx lost on the way back)
    trickle: float = 0.0  # after the status and headers, send the body a byte at a time for this long
    files: bool | None = None  # the receiver keeps the message (default: when it answers 2xx)


def ok(_m: Message) -> Answer:
    return Answer()


class Receiver:
    """A webhook receiver: records every request; files each webhook-id once (a receiver
    that deduplicates, as the specification asks receivers to); answers as ``answer`` says."""

    def __init__(self, answer: Callable[[Message], Answer] = ok, port: int | None = None):
        self.answer = answer
        self.port = port or free_port()
        self.messages: list[Message] = []
        self.filed: dict[str, Message] = {}  # webhook-id -> the message first filed
        self.order: list[str] = []  # webhook-ids in the order they were filed
        self.connections = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (a SIGKILL): nothing arrived
                    self.close_connection = True
                    return
                message = receiver._arrived({k.lower(): v for k, v in self.headers.items()}, body)
                answer = receiver.answer(message)
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.files if answer.files is not None else (200 <= answer.status < 300 and not answer.drop):
                    receiver._file(message)
                if answer.drop:
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(10**6) if answer.trickle else "2")
                self.end_headers()
                if not answer.trickle:
                    self.wfile.write(b"ok")
                    return
                until = time.monotonic() + answer.trickle
                while time.monotonic() < until:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
                self.close_connection = True

            def log_message(self, *_args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                found = super().get_request()
                with receiver.lock:
                    receiver.connections += 1
                return found

            def handle_error(self, *_args) -> None:  # a client that hung up on a slow answer
                pass

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def _arrived(self, headers: dict[str, str], body: bytes) -> Message:
        with self.lock:
            mid = headers.get("webhook-id", "")
            message = Message(mid, headers, body, len(self.messages), 1 + sum(m.id == mid for m in self.messages))
            self.messages.append(message)
            return message

    def _file(self, message: Message) -> None:
        with self.lock:
            if message.id not in self.filed:
                self.filed[message.id] = message
                self.order.append(message.id)

    def of_type(self, kind: str) -> list[Message]:
        return [self.filed[i] for i in self.order if self.filed[i].type == kind]

    def by_certificate(self) -> dict[str, list[str]]:
        """Per certificate, the types of the messages filed, in the order they were filed."""
        found: dict[str, list[str]] = {}
        for i in self.order:
            m = self.filed[i]
            if "certificate_id" in m.data:
                found.setdefault(m.data["certificate_id"], []).append(m.type)
        return found


# ------------------------------------------------------------------------------ helpers

def feed_runtime(runtime_factory, database_url: str | None = None, **overrides):
    """A runtime whose receivers may be on the loopback (http://127.0.0.1), signing B-B
    (fast: the feed is what is tested here)."""
    return runtime_factory(database_url=database_url, feed_allow_insecure_receivers=True, signature_level="B-B",
                           **overrides)


def add(rt, receiver: Receiver | str, *, personal_data: bool = False, name: str = "一网通办",
        office_code: str | None = None) -> tuple[FeedReceiver, str]:
    url = receiver.url if isinstance(receiver, Receiver) else receiver
    return add_receiver(rt.engine, rt.feed_config.sealing_key, name=name, url=url, actor="operator:test",
                        office_code=office_code or rt.office.code, personal_data=personal_data, allow_insecure=True)


def issue(rt, n: int = 1, ctx=None) -> list[IssuedCertificate]:
    ctx = ctx or rt.issuer_context()
    if n == 1:
        return [issue_certificate(ctx, "birth", HOLDER)]
    return issue_batch(ctx, [IssueRequest("birth", parse_matter("birth", HOLDER)) for _ in range(n)])


def anchor(rt) -> None:
    rt.worker().run_once(force=True)


def deliveries(rt, receiver: FeedReceiver | None = None) -> list[FeedDelivery]:
    with Session(rt.engine) as s:
        query = select(FeedDelivery).order_by(col(FeedDelivery.event_seq))
        if receiver is not None:
            query = query.where(FeedDelivery.receiver_id == receiver.id)
        return list(s.exec(query))


def events(rt) -> list[FeedEvent]:
    with Session(rt.engine) as s:
        return list(s.exec(select(FeedEvent).order_by(col(FeedEvent.seq))))


def message_ids(rt) -> list[str]:
    return [f"msg_{e.id.hex}" for e in events(rt)]


def all_delivered(rt) -> bool:
    found = deliveries(rt)
    return bool(found) and all(d.state == DeliveryState.DELIVERED.value for d in found)


def time_passes(rt) -> None:
    """As if every pending delivery's back-off had run out (the clock forged forward)."""
    with write_session(rt.engine) as s:
        s.exec(update(FeedDelivery).where(FeedDelivery.state == DeliveryState.PENDING.value)
               .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
        s.commit()


def verifies(secret: str, m: Message) -> dict:
    """The message checked by the independent implementation; its parsed body."""
    return standardwebhooks.Webhook(secret).verify(m.body, m.headers)


def refused(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        standardwebhooks.Webhook(secret).verify(body, headers)
    except standardwebhooks.WebhookVerificationError:
        return True
    return False


def outcomes() -> dict[str, float]:
    return {o: REGISTRY.get_sample_value("notary_feed_deliveries_total", {"outcome": o}) or 0.0
            for o in ("delivered", "failed", "dead")}


def delivered_seconds_count() -> float:
    return REGISTRY.get_sample_value("notary_feed_delivery_seconds_count") or 0.0


# ------------------------------------------------------------------------------ signatures and contents

def test_every_message_verifies_with_the_independent_implementation(runtime_factory):
    rt = feed_runtime(runtime_factory)
    with Receiver() as hook:
        receiver, secret = add(rt, hook, personal_data=True)
        cert = issue(rt)[0]
        revoke_certificate(rt.engine, cert.id, RevocationReason.WITHDRAWN, "当事人撤回")
        worker = rt.feed_worker()
        try:
            # Nothing yet: the issued event waits for its anchor, and the revocation behind it.
            assert worker.run_once() == 0 and hook.messages == []
            anchor(rt)
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    assert [m.type for m in hook.messages] == ["certificate.issued", "certificate.revoked"]
    assert [m.id for m in hook.messages] == message_ids(rt)
    assert [m.headers["content-type"] for m in hook.messages] == ["application/json"] * 2

    issued_event, revoked_event = events(rt)
    for m, event in zip(hook.messages, (issued_event, revoked_event)):
        parsed = verifies(secret, m)
        assert parsed == m.json and m.id == f"msg_{event.id.hex}"
        assert abs(int(m.headers["webhook-timestamp"]) - time.time()) < 60
        assert signature.verify(secret, m.headers, m.body) is None  # ours agrees
        # A wrong secret, a changed body, id or timestamp, and an old message: refused.
        assert refused(signature.new_secret(), m.body, m.headers)
        assert refused(secret, m.body.replace(b"certificate", b"Certificate", 1), m.headers)
        assert refused(secret, m.body + b" ", m.headers)
        assert refused(secret, m.body, {**m.headers, "webhook-id": "msg_" + uuid.uuid4().hex})
        assert refused(secret, m.body, {**m.headers, "webhook-timestamp": str(int(m.headers["webhook-timestamp"]) + 1)})
        assert refused(secret, m.body, {k: v for k, v in m.headers.items() if k != "webhook-signature"})
        old = int(time.time()) - 6 * 60  # past the scheme's five minutes, yet correctly signed
        resent = {**m.headers, **signature.headers([secret], m.id, m.body, timestamp=old)}
        assert refused(secret, m.body, resent)
        future = {**m.headers, **signature.headers([secret], m.id, m.body, timestamp=int(time.time()) + 6 * 60)}
        assert refused(secret, m.body, future)
        # ... and a signature the independent implementation makes verifies with ours.
        when = int(time.time())
        theirs = standardwebhooks.Webhook(secret).sign(m.id, dt.datetime.fromtimestamp(when, dt.timezone.utc), m.body)
        assert theirs == signature.sign(secret, m.id, when, m.body)

    issued, revoked = hook.messages[0].data, hook.messages[1].data
    # What the platform needs to file the certificate in the holder's e-licence wallet.
    assert issued["number"] == cert.number and issued["certificate_id"] == str(cert.id)
    assert issued["matter"] == "birth" and issued["matter_title_zh"] and issued["matter_title_en"]
    assert issued["issue_date"] == dt.date.today().isoformat()
    assert issued["office_code"] == rt.office.code and issued["office_name"] == rt.office.name
    assert issued["document_sha256"] == cert.document_sha256 == hashlib.sha256(cert.pdf).hexdigest()
    assert issued["verify_url"].startswith(f"{rt.settings.public_base_url}/v/{cert.id}?c=")  # the QR code's URL
    assert issued["holder"] == {"name": HOLDER["applicant_name"], "id_number": HOLDER["id_number"]}
    assert dt.datetime.fromisoformat(issued["download"]["expires_at"]) > utcnow() + dt.timedelta(hours=71)
    # The receipt proves the certificate's leaf is in a root this office anchored on the ledger.
    receipt = AnchorReceipt.model_validate(issued["receipt"])
    assert receipt.certificate_id == cert.id and receipt.document_sha256 == cert.document_sha256
    assert receipt.proof_valid() and receipt.office == rt.office.code
    on_chain = rt.registry.get_anchor(rt.registry.office_by_code(rt.office.code), bytes.fromhex(receipt.root))
    assert on_chain is not None and on_chain.block_number == receipt.block_number
    tampered = receipt.model_copy(update={"document_sha256": "00" * 32})
    assert not tampered.proof_valid()
    assert revoked["number"] == cert.number and revoked["reason"] == int(RevocationReason.WITHDRAWN)
    assert revoked["reason_name"] == "withdrawn" and revoked["note"] == "当事人撤回"
    assert "holder" not in revoked and "download" not in revoked
    assert hook.messages[0].json["timestamp"] < hook.messages[1].json["timestamp"]


def test_holder_data_goes_only_to_a_receiver_entitled_to_it(runtime_factory):
    rt = feed_runtime(runtime_factory)
    with Receiver() as entitled, Receiver() as plain:
        entitled_receiver, entitled_secret = add(rt, entitled, personal_data=True, name="一网通办（电子证照）")
        plain_receiver, plain_secret = add(rt, plain, personal_data=False, name="统计平台")
        cert, other = issue(rt, 2)
        correct_certificate(rt.issuer_context(), cert.id, {**HOLDER, "purpose": "探亲"})
        # A revocation's note is free text, and may name the holder.
        revoke_certificate(rt.engine, other.id, RevocationReason.WITHDRAWN, f"{HOLDER['applicant_name']}本人撤回")
        anchor(rt)
        worker = rt.feed_worker()
        try:
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    # Both issued, the successor issued, corrected, revoked.
    assert len(plain.filed) == len(entitled.filed) == 5
    for m in plain.messages:
        verifies(plain_secret, m)
        assert "holder" not in m.data
        for value in PERSONAL:
            assert value.encode() not in m.body, value
            assert json.dumps(value).strip('"').encode() not in m.body, value  # nor \\u-escaped
        # The PDF names the holder and their ID number: no download link either.
        assert "download" not in m.data
    for m in entitled.messages:
        verifies(entitled_secret, m)
    holders = [m.data["holder"] for m in entitled.of_type("certificate.issued")]
    assert holders == [{"name": HOLDER["applicant_name"], "id_number": HOLDER["id_number"]}] * 3
    assert all("download" in m.data for m in entitled.of_type("certificate.issued"))
    assert entitled.of_type("certificate.revoked")[0].data["note"] == f"{HOLDER['applicant_name']}本人撤回"
    assert "note" not in plain.of_type("certificate.revoked")[0].data
    # Nor does the download route hand the PDF to a receiver not entitled to it, even with a
    # link made with the service's own key.
    from feed.links import make_link
    from notary.app import create_app

    client = TestClient(create_app(rt), raise_server_exceptions=False)
    expires = utcnow() + dt.timedelta(hours=1)
    for r, status in ((plain_receiver, 403), (entitled_receiver, 200)):
        link = make_link(rt.feed_config.links.key, rt.settings.public_base_url, cert.id, r.id, expires)
        assert client.get(_path(link)).status_code == status


def _path(link: str) -> str:
    parts = urllib.parse.urlsplit(link)
    return f"{parts.path}?{parts.query}"


def _with(link: str, **changed: str) -> str:
    parts = urllib.parse.urlsplit(link)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(changed)
    return f"{parts.path}?{urllib.parse.urlencode(query)}"


def test_the_download_link_gives_the_stored_pdf_until_it_expires(runtime_factory):
    from notary.app import create_app

    rt = feed_runtime(runtime_factory)
    with Receiver() as hook, Receiver() as brief:
        receiver, _ = add(rt, hook, personal_data=True)
        short, _ = add(rt, brief, personal_data=True, name="短时链接")
        a, b = issue(rt, 2)
        anchor(rt)
        worker = rt.feed_worker()
        # A worker whose links last two seconds (feed_link_hours is per installation).
        links = dataclasses.replace(rt.feed_config.links, lifetime=dt.timedelta(seconds=2))
        brief_worker = FeedWorker(rt.engine, dataclasses.replace(rt.feed_config, links=links))
        try:
            # The short-lived links go to one receiver only: the other's first.
            assert fan_out(rt.engine) == 2
            disable_receiver(rt.engine, short.id, "operator:test")
            run_until_idle(worker, 20)
            enable_receiver(rt.engine, short.id, "operator:test")
            run_until_idle(brief_worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
            brief_worker.close()
        made = time.time()
    with Session(rt.engine) as s:
        stored = {c.id: s.get(CertificateDocument, c.id).pdf for c in (a, b)}
    link_a, link_b = (m.data["download"]["url"] for m in hook.of_type("certificate.issued"))
    assert link_a.startswith(rt.settings.public_base_url)
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    for link, cert in ((link_a, a), (link_b, b)):
        got = client.get(_path(link))
        assert got.status_code == 200, got.text
        assert got.content == stored[cert.id] == cert.pdf  # the exact PDF as issued
        assert got.headers["content-type"] == "application/pdf" and got.headers["cache-control"] == "no-store"
        assert hashlib.sha256(got.content).hexdigest() == cert.document_sha256
    with Session(rt.engine) as s:
        reads = s.exec(select(audit.AuditEvent).where(audit.AuditEvent.action == "feed.download")).all()
    assert {r.target for r in reads} == {str(a.id), str(b.id)}  # the read of personal data is recorded

    # Changed in any part, a link is refused (403) without saying which part.
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link_a).query))
    forged = [
        _with(link_a, s=("0" if query["s"][0] != "0" else "1") + query["s"][1:]),
        _with(link_a, e=str(int(query["e"]) + 86_400)),  # a longer life
        _with(link_a, r=uuid.uuid4().hex),
        _with(link_a, r=short.id.hex),  # another receiver's
        _path(link_a).replace(str(a.id), str(b.id)),  # another certificate
        _with(link_a, s="x" * 64),
        _with(link_a, e="²"),
    ]
    for path in forged:
        answer = client.get(path)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"]["code"] == "LINK_INVALID"
    assert client.get(_with(link_a, s="")).status_code in (403, 422)

    # The short-lived link works, then expires: 410 LINK_EXPIRED.
    brief_link = brief.of_type("certificate.issued")[0].data["download"]["url"]
    expires = int(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(brief_link).query))["e"])
    assert expires <= made + 3
    if time.time() < expires:
        assert client.get(_path(brief_link)).status_code == 200
    time.sleep(max(0.0, expires + 1.1 - time.time()))
    gone = client.get(_path(brief_link))
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "LINK_EXPIRED"

    # A disabled receiver's links stop working (403), and work again once it is enabled.
    disable_receiver(rt.engine, receiver.id, "operator:test")
    stopped = client.get(_path(link_a))
    assert stopped.status_code == 403 and stopped.json()["error"]["code"] == "LINK_INVALID"
    enable_receiver(rt.engine, receiver.id, "operator:test")
    assert client.get(_path(link_a)).status_code == 200


OFFICE_B = dict(name="上海市徐汇公证处", code="SH-XUHUI-B", abbrev="沪徐")


def test_a_receiver_hears_only_its_own_office(runtime_factory):
    """Two offices in one database, each anchoring with its own account on the registry:
    office B's receiver gets B's events and none of A's, and the other way round."""
    from issuer.service import Office

    rt = feed_runtime(runtime_factory)
    anchor_b = Account.create()
    fund_on_dev_node(rt.registry.w3, anchor_b.address)
    rt.registry.transact(rt.accounts.admin, "registerOffice", OFFICE_B["code"], OFFICE_B["name"], [anchor_b.address])
    ctx_b = dataclasses.replace(rt.issuer_context(), office=Office(OFFICE_B["name"], OFFICE_B["code"],
                                                                    OFFICE_B["abbrev"]))
    worker_b = AnchorWorker(rt.engine, rt.registry, anchor_b, WorkerConfig(office_code=OFFICE_B["code"]))
    with Receiver() as hook_a, Receiver() as hook_b:
        _, secret_a = add(rt, hook_a, personal_data=True, name="一网通办（东方）")
        _, secret_b = add(rt, hook_b, personal_data=True, name="一网通办（徐汇）", office_code=OFFICE_B["code"])
        a, b = issue(rt)[0], issue(rt, ctx=ctx_b)[0]
        revoke_certificate(rt.engine, a.id, RevocationReason.ISSUED_IN_ERROR)
        revoke_certificate(rt.engine, b.id, RevocationReason.WITHDRAWN)
        anchor(rt)
        worker_b.run_once(force=True)
        worker = rt.feed_worker()
        try:
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    assert hook_a.by_certificate() == {str(a.id): ["certificate.issued", "certificate.revoked"]}
    assert hook_b.by_certificate() == {str(b.id): ["certificate.issued", "certificate.revoked"]}
    assert {m.data["office_code"] for m in hook_a.messages} == {rt.office.code}
    assert {m.data["office_code"] for m in hook_b.messages} == {OFFICE_B["code"]}
    b_issued = hook_b.of_type("certificate.issued")[0].data
    assert b_issued["receipt"]["office"] == OFFICE_B["code"] and AnchorReceipt.model_validate(b_issued["receipt"]).proof_valid()
    for m in hook_a.messages:
        verifies(secret_a, m)
        assert refused(secret_b, m.body, m.headers)
    for m in hook_b.messages:
        verifies(secret_b, m)
    # Office B's receiver cannot fetch A's PDF with its own link's key either.
    link_b = hook_b.of_type("certificate.issued")[0].data["download"]["url"]
    from notary.app import create_app

    client = TestClient(create_app(rt), raise_server_exceptions=False)
    assert client.get(_path(link_b)).status_code == 200
    assert client.get(_path(link_b).replace(str(b.id), str(a.id))).status_code == 403


def test_a_key_rotation_is_an_office_event(runtime_factory):
    from notary.runtime import rotate_office_key

    rt = feed_runtime(runtime_factory)
    with Receiver() as hook:
        _, secret = add(rt, hook)
        old, new = rotate_office_key(rt, "operator:test")
        worker = rt.feed_worker()
        try:
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    [m] = hook.messages
    assert verifies(secret, m)["type"] == "office.key_rotated"
    assert m.data["retired_fingerprint"] == old.hex() and m.data["new_fingerprint"] == new.hex() != old.hex()
    der = base64.b64decode(m.data["certificate_der_base64"])
    assert hashlib.sha256(der).digest() == new  # the new signing certificate itself
    assert m.data["office_code"] == rt.office.code and "certificate_id" not in m.data
    [d] = deliveries(rt)
    assert d.stream == f"office:{rt.office.code}"


def test_a_rotated_secret_signs_beside_the_new_one_until_the_overlap_ends(runtime_factory):
    rt = feed_runtime(runtime_factory)
    with Receiver() as hook:
        receiver, old_secret = add(rt, hook)
        worker = rt.feed_worker()
        try:
            rotated = rotate_secret(rt.engine, rt.feed_config.sealing_key, receiver.id, "operator:test")
            with Session(rt.engine) as s:
                stored = s.get(FeedReceiver, receiver.id)
                until = stored.previous_secret_until
                assert rotated.encode() not in stored.secret_sealed  # sealed, not in clear
                assert old_secret.encode() not in (stored.previous_secret_sealed or b"")
            assert dt.timedelta(hours=23, minutes=59) < until - utcnow() <= dt.timedelta(hours=24)
            issue(rt)
            anchor(rt)
            run_until_idle(worker, 20, lambda: all_delivered(rt))
            [during] = hook.messages
            assert len(during.headers["webhook-signature"].split(" ")) == 2
            assert verifies(old_secret, during) == verifies(rotated, during)
            # A day later (the clock forged forward): the new secret alone.
            with write_session(rt.engine) as s:
                s.exec(update(FeedReceiver).where(FeedReceiver.id == receiver.id)
                       .values(previous_secret_until=utcnow() - dt.timedelta(seconds=1)))
                s.commit()
            issue(rt)
            anchor(rt)
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    after = hook.messages[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verifies(rotated, after)
    assert refused(old_secret, after.body, after.headers)


# ------------------------------------------------------------------------------ receivers that misbehave

def test_a_receiver_that_is_down_is_retried_with_back_off_and_gets_everything_in_order(runtime_factory,
                                                                                           database_url):
    rt = feed_runtime(runtime_factory, database_url)
    hook = Receiver(port=free_port())  # not listening yet: connection refused
    receiver, secret = add(rt, hook)
    a, b = issue(rt, 2)
    revoke_certificate(rt.engine, a.id, RevocationReason.WITHDRAWN)
    anchor(rt)
    before, seconds_before = outcomes(), delivered_seconds_count()
    worker = rt.feed_worker()
    try:
        waits = []
        for attempt in (1, 2, 3):
            started = utcnow()
            assert worker.run_once() == 2  # a's issued and b's issued; a's revocation waits behind a's
            pending = deliveries(rt)
            assert [d.state for d in pending] == ["pending"] * 3
            first = [d for d in pending if d.attempts == attempt]
            assert len(first) == 2 and all("ConnectError" in (d.last_error or "") for d in first)
            assert all(d.last_status is None for d in first)
            waits.append(min((d.next_attempt_at - started).total_seconds() for d in first))
            expected = dispatcher.FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)
            assert all(0.8 * expected - 0.5 <= (d.next_attempt_at - started).total_seconds() <= 1.2 * expected + 1
                       for d in first), (attempt, [d.next_attempt_at - started for d in first])
            assert worker.run_once() == 0  # nothing is due before its back-off has passed
            time_passes(rt)
        assert waits[0] < waits[1] < waits[2]  # exponential
        assert outcomes()["failed"] - before["failed"] == 6 and outcomes()["delivered"] == before["delivered"]
        with hook:
            run_until_idle(worker, 20, lambda: all_delivered(rt))
    finally:
        worker.close()
    assert hook.by_certificate() == {str(a.id): ["certificate.issued", "certificate.revoked"],
                                     str(b.id): ["certificate.issued"]}
    assert len(hook.messages) == 3  # once each, now that it answers
    for m in hook.messages:
        verifies(secret, m)
    done = {d.event_seq: d for d in deliveries(rt)}
    assert sorted(d.attempts for d in done.values()) == [1, 4, 4]
    assert all(d.last_error is None and d.last_status == 200 and d.delivered_at for d in done.values())
    assert outcomes()["delivered"] - before["delivered"] == 3
    assert delivered_seconds_count() - seconds_before == 3
    assert counts(rt.engine)[receiver.id] == {"pending": 0, "delivered": 3, "dead": 0}
    from observability.metrics import exposition

    scraped = exposition()[0].decode()
    assert 'notary_feed_deliveries_total{outcome="failed"}' in scraped and "notary_feed_delivery_seconds_bucket" in scraped


def test_a_slow_receiver_counts_as_failed_and_is_retried(runtime_factory):
    rt = feed_runtime(runtime_factory, feed_timeout_seconds=0.5)

    def slow_once(m: Message) -> Answer:  # files it, but answers after the feed gave up
        return Answer(delay=3, files=True) if m.attempt == 1 else Answer()

    with Receiver(slow_once) as hook:
        _, secret = add(rt, hook)
        cert = issue(rt)[0]
        anchor(rt)
        before = outcomes()
        worker = rt.feed_worker()
        try:
            started = time.monotonic()
            assert worker.run_once() == 1
            assert time.monotonic() - started < 2.5  # the feed did not wait for the answer
            [d] = deliveries(rt)
            assert (d.state, d.attempts, d.last_error) == ("pending", 1, "timed out")
            assert outcomes()["failed"] - before["failed"] == 1
            time_passes(rt)
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    assert [m.attempt for m in hook.messages] == [1, 2] and len({m.id for m in hook.messages}) == 1
    assert len(hook.filed) == 1 and hook.filed[hook.messages[0].id].data["certificate_id"] == str(cert.id)
    for m in hook.messages:
        verifies(secret, m)
    assert outcomes()["delivered"] - before["delivered"] == 1


def test_a_receiver_that_trickles_its_answer_does_not_hold_the_others(runtime_factory):
    """A receiver that answers 200 and then sends its body a byte at a time (each byte within
    the timeout) must not keep the pass, and with it every other receiver, waiting: its
    status is its answer."""
    rt = feed_runtime(runtime_factory, feed_timeout_seconds=0.5)

    def trickles(_m: Message) -> Answer:
        return Answer(trickle=30)

    with Receiver(trickles) as slow, Receiver() as other:
        add(rt, slow, name="慢")
        add(rt, other, name="另一接收方")
        issue(rt)
        anchor(rt)
        worker = rt.feed_worker()
        done = threading.Event()
        thread = threading.Thread(target=lambda: (worker.run_once(), done.set()), daemon=True)
        started = time.monotonic()
        thread.start()
        try:
            assert done.wait(10), "the pass waited for a trickling answer"
            assert time.monotonic() - started < 5
            assert [(d.state, d.last_status) for d in deliveries(rt)] == [("delivered", 200)] * 2
        finally:
            if done.is_set():
                worker.close()
    assert len(slow.messages) == len(other.messages) == 1


def test_a_500_then_a_200(runtime_factory):
    rt = feed_runtime(runtime_factory)

    def fails_once(m: Message) -> Answer:
        return Answer(500) if m.attempt == 1 else Answer()

    with Receiver(fails_once) as hook:
        _, secret = add(rt, hook)
        issue(rt)
        anchor(rt)
        worker = rt.feed_worker()
        try:
            assert worker.run_once() == 1
            [d] = deliveries(rt)
            assert (d.state, d.last_status, d.last_error) == ("pending", 500, "HTTP 500")
            time_passes(rt)
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    first, second = hook.messages
    assert first.id == second.id and (first.attempt, second.attempt) == (1, 2)
    # The same event: the same body, but for the download link made afresh for each attempt.
    same = [{**m.json, "data": {k: v for k, v in m.data.items() if k != "download"}} for m in (first, second)]
    assert same[0] == same[1]
    for m in (first, second):
        verifies(secret, m)
    assert len(hook.filed) == 1
    [d] = deliveries(rt)
    assert (d.state, d.attempts, d.last_status) == ("delivered", 2, 200)


def test_an_answer_lost_on_the_way_back_brings_the_same_message_again(runtime_factory, anvil_url, tmp_path,
                                                                      monkeypatch):
    """The receiver filed the message, but its 2xx never reached the feed (the connection
    closed first): the feed sends it again with the same webhook-id, and a replay does too;
    a receiver that deduplicates by webhook-id files it once."""
    rt = feed_runtime(runtime_factory)

    def lost_once(m: Message) -> Answer:
        return Answer(drop=True, files=True) if m.attempt == 1 else Answer()

    with Receiver(lost_once) as hook:
        _, secret = add(rt, hook)
        cert = issue(rt)[0]
        revoke_certificate(rt.engine, cert.id, RevocationReason.OTHER, "重复出证")
        anchor(rt)
        worker = rt.feed_worker()
        try:
            assert worker.run_once() == 1
            [d, _] = deliveries(rt)
            assert d.state == "pending" and "RemoteProtocolError" in d.last_error
            for _ in range(10):  # each event's first answer is lost: retried when its back-off is over
                if all_delivered(rt):
                    break
                time_passes(rt)
                worker.run_once()
            event_id = events(rt)[0].id
            cli = _cli(rt, anvil_url, monkeypatch)
            done = cli("feed", "replay", f"msg_{event_id.hex}")
            assert done.exit_code == 0 and "1 delivery back in line" in done.stdout
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    ids = [m.id for m in hook.messages]
    issued_id, revoked_id = message_ids(rt)
    # issued (answer lost), issued again, revoked (once the issued event was through; the
    # revocation's first attempt also has its answer lost), ..., the replayed issued event.
    assert ids[:2] == [issued_id, issued_id] and ids[-1] == issued_id
    assert ids.index(revoked_id) > 1
    assert hook.order == [issued_id, revoked_id]  # filed once each, in order
    assert sum(m.id == issued_id for m in hook.messages) == 3
    for m in hook.messages:
        verifies(secret, m)


@pytest.mark.parametrize("value, at_least", [("120", 120.0), ("7200", 3600.0), ("http-date", 300.0)])
def test_retry_after_is_honoured(runtime_factory, value, at_least):
    rt = feed_runtime(runtime_factory)
    if value == "http-date":  # the other form RFC 9110 allows: a date
        from email.utils import format_datetime

        value = format_datetime(utcnow() + dt.timedelta(seconds=310), usegmt=True)

    def busy(m: Message) -> Answer:
        return Answer(503 if m.attempt == 1 else 429, headers={"Retry-After": value})

    with Receiver(busy) as hook:
        add(rt, hook)
        issue(rt, 3)
        anchor(rt)
        worker = rt.feed_worker()
        try:
            started = utcnow()
            assert worker.run_once() == 3
            waits = [(d.next_attempt_at - started).total_seconds() for d in deliveries(rt)]
            assert all(d.last_status == 503 for d in deliveries(rt))
            # Never sooner than the receiver asked (jitter only adds); never past the hour cap's jitter.
            assert all(at_least - 1 <= w <= 1.2 * dispatcher.MAX_BACKOFF_SECONDS + 1 for w in waits), waits
            assert worker.run_once() == 0
            time_passes(rt)
            assert worker.run_once() == 3
            assert all(d.last_status == 429 for d in deliveries(rt))
        finally:
            worker.close()
    assert len(hook.messages) == 6


def test_a_receivers_odd_retry_after_does_not_break_the_pass(runtime_factory):
    """A Retry-After of "²" (a digit to str.isdigit, not to float) once raised out of the
    post and lost the records of the whole pass: every delivery in it was posted again
    after its lease, forever, and never counted."""
    rt = feed_runtime(runtime_factory)

    def odd(m: Message) -> Answer:
        return Answer(503, headers={"Retry-After": "²"}) if m.attempt == 1 else Answer()

    with Receiver(odd) as hook, Receiver() as other:
        add(rt, hook)
        add(rt, other, name="另一接收方")
        issue(rt)
        anchor(rt)
        worker = rt.feed_worker()
        try:
            assert worker.run_once() == 2
            by_receiver = {d.last_status for d in deliveries(rt)}
            assert by_receiver == {503, 200}
            time_passes(rt)
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    assert len(other.messages) == 1 and len(hook.messages) == 2


def test_back_off_doubles_to_an_hour_with_jitter():
    for attempts in range(1, 15):
        base = min(dispatcher.FIRST_BACKOFF_SECONDS * 2 ** (attempts - 1), dispatcher.MAX_BACKOFF_SECONDS)
        waits = [backoff(attempts) for _ in range(200)]
        assert all(0.8 * base <= w <= 1.2 * base for w in waits)
        assert max(waits) - min(waits) > 0.2 * base  # spread out, not all at once
    assert all(backoff(1, retry_after=30) >= 30 for _ in range(200))


# ------------------------------------------------------------------------------ dead letters and replay

def _cli(rt, anvil_url: str, monkeypatch):
    """`notary ARGS` in this process on the runtime's data directory and database."""
    env = {"NOTARY_DATA_DIR": str(rt.settings.data_dir), "NOTARY_RPC_URL": anvil_url,
           "NOTARY_KEY_PASSPHRASE": "test-passphrase", "NOTARY_OFFICE_CODE": rt.office.code,
           "NOTARY_FEED_ALLOW_INSECURE_RECEIVERS": "true" if rt.settings.feed_allow_insecure_receivers else "false"}
    if rt.settings.database_url:
        env["NOTARY_DATABASE_URL"] = rt.settings.database_url
    return in_process_cli(env, monkeypatch)


def test_a_delivery_failing_too_long_is_dead_lettered_and_replayed_from_the_cli(runtime_factory, database_url,
                                                                                anvil_url, monkeypatch):
    rt = feed_runtime(runtime_factory, database_url, feed_dead_after_hours=1 / 3600)  # a second
    broken = {"on": True}

    def answer(m: Message) -> Answer:
        return Answer(500) if broken["on"] and m.type == "certificate.issued" else Answer()

    cli = _cli(rt, anvil_url, monkeypatch)
    with Receiver(answer) as hook:
        receiver, secret = add(rt, hook)
        a, b = issue(rt, 2)
        revoke_certificate(rt.engine, a.id, RevocationReason.WITHDRAWN)
        anchor(rt)
        before = outcomes()
        worker = rt.feed_worker()
        try:
            assert worker.run_once() == 2  # the two issued events fail; a's revocation waits behind
            assert hook.by_certificate() == {} and len(hook.messages) == 2
            time.sleep(1.1)
            time_passes(rt)
            assert worker.run_once() == 2  # failing a second after they were made: dead
            states = {d.event_seq: d.state for d in deliveries(rt)}
            assert sorted(states.values()) == ["dead", "dead", "pending"]
            assert outcomes()["dead"] - before["dead"] == 2 and outcomes()["failed"] - before["failed"] == 2
            # A dead delivery no longer holds the certificate's later events back.
            run_until_idle(worker, 20)
            assert hook.by_certificate() == {str(a.id): ["certificate.revoked"]}

            # The office administrator sees them: `notary feed deliveries --state dead`, `notary feed list`.
            dead = cli("feed", "deliveries", "--state", "dead", "--json")
            assert dead.exit_code == 0, dead.output
            rows = [json.loads(line) for line in dead.stdout.splitlines()]
            issued_a, issued_b, _ = (str(e.id) for e in events(rt))
            assert {r["event_id"] for r in rows} == {issued_a, issued_b}
            assert all(r["state"] == "dead" and r["attempts"] == 2 and r["last_status"] == 500 for r in rows)
            listed = cli("feed", "list", "--json")
            [row] = [json.loads(line) for line in listed.stdout.splitlines()]
            assert (row["id"], row["pending"], row["delivered"], row["dead"]) == (str(receiver.id), 0, 1, 2)
            assert secret not in listed.stdout
            table = cli("feed", "list").stdout
            assert "dead 2" in table and "delivered 1" in table
            assert "dead" in cli("feed", "deliveries", "--state", "dead").stdout

            # Replay one event by its id, once the receiver works again.
            broken["on"] = False
            replayed = cli("feed", "replay", issued_a)
            assert replayed.exit_code == 0 and "1 delivery back in line" in replayed.stdout
            run_until_idle(worker, 20)
            assert hook.by_certificate()[str(a.id)] == ["certificate.revoked", "certificate.issued"]
            # Then every dead delivery of the receiver.
            replayed = cli("feed", "replay", "--dead", "--receiver", str(receiver.id))
            assert replayed.exit_code == 0 and "1 delivery back in line" in replayed.stdout
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    assert hook.by_certificate()[str(b.id)] == ["certificate.issued"]
    # Each replay was sent with the event's own webhook-id, and verifies.
    for m in hook.messages:
        verifies(secret, m)
    filed = [hook.filed[i].id for i in hook.order]
    assert sorted(filed) == sorted(message_ids(rt))
    assert counts(rt.engine)[receiver.id] == {"pending": 0, "delivered": 3, "dead": 0}
    # Replays are audited, and a replay of nothing is refused.
    with Session(rt.engine) as s:
        assert len(s.exec(select(audit.AuditEvent).where(audit.AuditEvent.action == "feed.replay")).all()) == 2
    nothing = cli("feed", "replay", str(uuid.uuid4()))
    assert nothing.exit_code == 3
    assert cli("feed", "replay", "--dead", "--receiver", str(receiver.id)).exit_code == 3  # none dead now
    assert cli("feed", "replay", "--dead").exit_code == 3


def test_a_disabled_receivers_backlog_does_not_hold_up_the_others(runtime_factory, database_url):
    """A receiver disabled with more deliveries waiting than one claim takes must not
    fill every claim with rows nobody will post."""
    rt = feed_runtime(runtime_factory, database_url)
    down = Receiver(port=free_port())  # never answers
    gone, _ = add(rt, down, name="停用的接收方")
    issue(rt, 5)
    anchor(rt)
    small = FeedWorker(rt.engine, dataclasses.replace(rt.feed_config, claim_size=4))
    try:
        assert small.run_once() == 4
        disable_receiver(rt.engine, gone.id, "operator:test")
        time_passes(rt)
        with Receiver() as hook:
            add(rt, hook)
            fresh = issue(rt, 2)
            anchor(rt)
            run_until_idle(small, 20, lambda: len(hook.filed) == 2)
    finally:
        small.close()
    assert set(hook.by_certificate()) == {str(c.id) for c in fresh}
    assert {d.state for d in deliveries(rt, gone)} == {"pending"}  # kept for when it is enabled again


# ------------------------------------------------------------------------------ order under failures

def test_per_certificate_order_holds_under_random_failures(runtime_factory, database_url, monkeypatch):
    """Many certificates, each then revoked or corrected, to a receiver that fails at random
    (500, a lost answer, a slow answer), delivered by two workers at once: every event is
    filed, and per certificate the issued event always comes first."""
    rt = feed_runtime(runtime_factory, database_url, feed_timeout_seconds=0.5)
    monkeypatch.setattr(dispatcher, "FIRST_BACKOFF_SECONDS", 0.02)  # retries at once: time is what we lack
    chance = random.Random(17)
    lock = threading.Lock()

    def flaky(_m: Message) -> Answer:
        with lock:
            roll = chance.random()
        if roll < 0.25:
            return Answer(500)
        if roll < 0.35:
            return Answer(drop=True, files=True)
        if roll < 0.40:
            return Answer(delay=0.8, files=True)
        return Answer()

    with Receiver(flaky) as hook:
        _, secret = add(rt, hook)
        certs = issue(rt, 24)
        ctx = rt.issuer_context()
        successors: dict[str, str] = {}
        for i, cert in enumerate(certs):
            if i % 3 == 0:
                successors[str(cert.id)] = str(correct_certificate(ctx, cert.id, {**HOLDER, "purpose": "探亲"}).id)
            elif i % 3 == 1:
                revoke_certificate(rt.engine, cert.id, RevocationReason.ISSUED_IN_ERROR)
        anchor(rt)
        workers = [rt.feed_worker(), rt.feed_worker()]
        stop = threading.Event()
        threads = [threading.Thread(target=w.run_forever, args=(stop, 0.02)) for w in workers]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: all_delivered(rt) and len(deliveries(rt)) == len(events(rt)), 120, "every delivery")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
            for w in workers:
                w.close()
    assert len(events(rt)) == 24 + 8 * 2 + 8  # issued; corrected and the successor's issued; revoked
    assert sorted(hook.order) == sorted(message_ids(rt))  # nothing lost
    retried = sum(1 for m in hook.messages if m.attempt > 1)
    assert retried > 5  # the receiver did fail
    by_cert = hook.by_certificate()
    for i, cert in enumerate(certs):
        expected = ["certificate.issued", ("certificate.corrected", "certificate.revoked", None)[i % 3]]
        assert by_cert[str(cert.id)] == [k for k in expected if k], (i, by_cert[str(cert.id)])
    for old, new in successors.items():
        corrected = next(hook.filed[i] for i in hook.order
                         if hook.filed[i].type == "certificate.corrected" and hook.filed[i].data["certificate_id"] == old)
        assert corrected.data["successor_id"] == new
        assert by_cert[new] == ["certificate.issued"]
        successor = next(hook.filed[i] for i in hook.order if hook.filed[i].data.get("certificate_id") == new)
        assert successor.data["corrects"] == old and AnchorReceipt.model_validate(successor.data["receipt"]).proof_valid()
    # The first arrival of each webhook-id is in event order per certificate (not only what was filed).
    seq_of = {f"msg_{e.id.hex}": e.seq for e in events(rt)}
    first: dict[str, list[int]] = {}
    seen: set[str] = set()
    for m in hook.messages:
        if m.id not in seen:
            seen.add(m.id)
            first.setdefault(m.data["certificate_id"], []).append(seq_of[m.id])
    assert all(seqs == sorted(seqs) for seqs in first.values())
    for m in hook.messages:
        verifies(secret, m)


# ------------------------------------------------------------------------------ where receivers may be

@pytest.mark.parametrize("url", [
    "http://example.com/hook",  # not https
    "https://127.0.0.1/hook", "https://localhost/hook", "https://[::1]/hook",  # loopback
    "https://10.1.2.3/hook", "https://192.168.0.10/hook", "https://172.16.5.5/hook",  # private
    "https://169.254.169.254/latest/meta-data", "https://[fe80::1]/hook",  # link-local, a cloud's metadata
    "https://0.0.0.0/hook", "https://224.0.0.1/hook", "https://100.64.0.1/hook",
    "https://user:pw@example.com/hook", "ftp://example.com/hook", "https:///hook", "https://exa mple.com/",
    "https://example.com:99999/hook", "https://no-such-host.invalid/hook",
])
def test_a_receiver_must_be_a_public_https_url(runtime_factory, url):
    rt = runtime_factory()  # the default settings
    assert rt.settings.feed_allow_insecure_receivers is False
    with pytest.raises(BadReceiver) as refused_:
        add_receiver(rt.engine, rt.feed_config.sealing_key, name="一网通办", url=url, actor="operator:test",
                     office_code=rt.office.code, allow_insecure=rt.settings.feed_allow_insecure_receivers)
    assert refused_.value.code == "RECEIVER_INVALID" and refused_.value.http_status == 422
    with Session(rt.engine) as s:
        assert s.exec(select(FeedReceiver)).all() == []


def test_the_address_is_checked_again_when_sending(runtime_factory, anvil_url, monkeypatch):
    """A receiver's name that resolved to a public address when it was added and points
    into the service's own network later (DNS rebinding) gets nothing: the worker checks
    before it connects. So does one added while the rule was lifted."""
    rt = runtime_factory()  # the default settings: public https:// receivers only
    public = {"platform.example": "93.184.215.14"}  # a public address (never connected to here)
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host in public:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (public[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with Receiver() as hook:
        rebound, _ = add_receiver(rt.engine, rt.feed_config.sealing_key, name="一网通办",
                                  url=f"https://platform.example:{hook.port}/hook", actor="operator:test",
                                  office_code=rt.office.code)  # accepted: it resolves to a public address
        add_receiver(rt.engine, rt.feed_config.sealing_key, name="开发时加入", url=f"https://localhost:{hook.port}/hook",
                     actor="operator:test", office_code=rt.office.code, allow_insecure=True)
        public["platform.example"] = "127.0.0.1"  # now it points at the loopback
        issue(rt)
        anchor(rt)
        worker = rt.feed_worker()
        try:
            assert worker.run_once() == 2
        finally:
            worker.close()
        assert hook.connections == 0 and hook.messages == []
    found = deliveries(rt)
    assert [d.state for d in found] == ["pending", "pending"]
    assert all("non-public address" in d.last_error and d.last_status is None for d in found), found
    assert any("127.0.0.1" in d.last_error for d in found if d.receiver_id == rebound.id)
    # The CLI refuses to add such a receiver, with the reason.
    cli = _cli(rt, anvil_url, monkeypatch)
    answer = cli("feed", "add", "一网通办", f"http://127.0.0.1:{hook.port}/hook")
    assert answer.exit_code == 3 and "https://" in answer.output
    answer = cli("feed", "add", "一网通办", "https://127.0.0.1/hook")
    assert answer.exit_code == 3 and "non-public address" in answer.output


def test_the_cli_adds_lists_disables_and_rotates(runtime_factory, anvil_url, monkeypatch):
    rt = feed_runtime(runtime_factory)
    cli = _cli(rt, anvil_url, monkeypatch)
    with Receiver() as hook:
        added = cli("feed", "add", "一网通办", hook.url, "--personal-data", "--kind", "certificate.issued",
                    "--kind", "certificate.revoked", "--operator", "李主任")
        assert added.exit_code == 0, added.output
        fields = dict(line.split(":", 1) for line in added.stdout.splitlines() if ":" in line and not line.startswith("("))
        receiver_id, secret = fields["id"].strip(), fields["secret"].strip()
        assert secret.startswith("whsec_")
        assert cli("feed", "add", "x", hook.url, "--kind", "certificate.sold").exit_code == 3
        listed = cli("feed", "list", "--json").stdout
        row = json.loads(listed.splitlines()[0])
        assert row["kinds"] == "certificate.issued,certificate.revoked" and row["personal_data"] is True
        assert secret not in listed
        with Session(rt.engine) as s:
            stored = s.get(FeedReceiver, uuid.UUID(receiver_id))
            assert secret.encode() not in stored.secret_sealed  # sealed, not in clear
        cert = issue(rt)[0]
        revoke_certificate(rt.engine, cert.id, RevocationReason.WITHDRAWN)
        from notary.runtime import rotate_office_key

        rotate_office_key(rt, "operator:test")  # a kind this receiver did not ask for
        anchor(rt)
        worker = rt.feed_worker()
        try:
            run_until_idle(worker, 20, lambda: all_delivered(rt))
            assert [m.type for m in hook.messages] == ["certificate.issued", "certificate.revoked"]
            for m in hook.messages:
                verifies(secret, m)
            rotated = cli("feed", "rotate-secret", receiver_id)
            new_secret = rotated.stdout.split("secret:", 1)[1].split()[0]
            assert new_secret.startswith("whsec_") and new_secret != secret
            assert cli("feed", "disable", receiver_id).exit_code == 0
            assert json.loads(cli("feed", "list", "--json").stdout)["state"] == "disabled"
            second = issue(rt)[0]
            anchor(rt)
            run_until_idle(worker, 10)
            assert len(hook.messages) == 2  # nothing to a disabled receiver
            assert cli("feed", "enable", receiver_id).exit_code == 0
            third = issue(rt)[0]
            anchor(rt)
            run_until_idle(worker, 20, lambda: all_delivered(rt))
        finally:
            worker.close()
    # What was issued while it was disabled waited for it, and went out once it was enabled
    # (two certificates: posted together, in no order between them).
    assert sorted(m.data["certificate_id"] for m in hook.messages[2:]) == sorted([str(second.id), str(third.id)])
    last = next(m for m in hook.messages if m.data["certificate_id"] == str(third.id))
    verifies(new_secret, last)
    verifies(secret, last)  # the old one still signs beside it for a day
    assert cli("feed", "disable", str(uuid.uuid4())).exit_code == 3
    assert cli("feed", "disable", "not-an-id").exit_code == 3
    assert cli("feed", "deliveries", "--state", "lost").exit_code == 3
    with Session(rt.engine) as s:
        actions = [e.action for e in s.exec(select(audit.AuditEvent).where(col(audit.AuditEvent.action).like("feed.%")))]
    assert {"feed.receiver_add", "feed.receiver_rotate", "feed.receiver_disable", "feed.receiver_enable"} <= set(actions)


# ------------------------------------------------------------------------------ SIGKILL

KILLS = 4
ROUNDS, PER_ROUND, REVOKED_PER_ROUND = 14, 20, 6


def test_no_event_is_lost_or_reordered_when_the_worker_is_killed(runtime_factory, pg_database, anvil_url, tmp_path):
    """`notary worker` (anchoring and the feed) as a process on PostgreSQL, SIGKILLed at
    random moments while it delivers and started again, while a few hundred certificates
    are issued, some revoked and some corrected. At the end every event was delivered at
    least once, and per certificate the first arrival of each webhook-id is in event order.
    Duplicates are allowed (at least once) and counted.

    A killed worker's claims are taken over at once by the next worker of this machine
    (processes.holder sees the process gone), not after their lease."""
    rt = feed_runtime(runtime_factory, pg_database)
    chance = random.Random(int(os.environ.get("FEED_KILL_SEED", "1717")))

    def jittery(_m: Message) -> Answer:  # a little work per message, so kills land mid-post
        return Answer(delay=chance.uniform(0, 0.01))

    env = {**os.environ, "NOTARY_DATA_DIR": str(rt.settings.data_dir), "NOTARY_RPC_URL": anvil_url,
           "NOTARY_DATABASE_URL": pg_database, "NOTARY_KEY_PASSPHRASE": "test-passphrase",
           "NOTARY_BATCH_AGE_SECONDS": "0.2", "NOTARY_FEED_ALLOW_INSECURE_RECEIVERS": "true",
           "NOTARY_FEED_TIMEOUT_SECONDS": "0.5"}
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - closed below
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([str(NOTARY), "worker"], env=env, stdout=log, stderr=log, start_new_session=True)
        procs.append(proc)
        return proc

    def claimed_by(pid: int) -> set[int]:
        """The deliveries process ``pid`` had claimed and not recorded."""
        with Session(rt.engine) as s:
            return set(s.exec(select(FeedDelivery.id).where(FeedDelivery.state == DeliveryState.PENDING.value,
                                                            col(FeedDelivery.claimed_by).contains(f"/{pid}/"))))

    with Receiver(jittery) as hook:
        _, secret = add(rt, hook, personal_data=True)
        worker = start()  # it starts (a few seconds of imports) while the signing processes do
        ctx = rt.issuer_context(pool=True)
        issued: list[IssuedCertificate] = []
        kills_at = sorted(chance.sample(range(1, 8), KILLS))
        stranded: list[set[int]] = []  # per kill: deliveries the killed worker had claimed and not recorded
        started = time.monotonic()
        try:
            for round_ in range(ROUNDS):
                batch = issue(rt, PER_ROUND, ctx)
                issued += batch
                for cert in batch[:REVOKED_PER_ROUND]:
                    revoke_certificate(rt.engine, cert.id, RevocationReason.WITHDRAWN)
                if round_ % 3 == 0:
                    correct_certificate(ctx, batch[-1].id, {**HOLDER, "purpose": "探亲"})
                if round_ in kills_at:
                    # Kill it while it delivers: once messages arrive from this process.
                    seen = len(hook.messages)
                    wait_for(lambda: len(hook.messages) > seen + 3, 60, "the worker to deliver")
                    time.sleep(chance.uniform(0, 0.2))
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(10)
                    stranded.append(claimed_by(worker.pid))
                    worker = start()
            total = len(events(rt))
            wait_for(lambda: len(hook.filed) == total and all_delivered(rt) and len(events(rt)) == total,
                     120, "every event delivered")
            took = time.monotonic() - started
        finally:
            for proc in procs:
                stop_process_group(proc, 30)
            log.close()

    assert len(stranded) == KILLS and len(issued) == ROUNDS * PER_ROUND
    assert any(stranded), "no kill caught the worker with deliveries in hand"
    all_events = events(rt)
    corrected = len(range(0, ROUNDS, 3))
    assert len(all_events) == ROUNDS * (PER_ROUND + REVOKED_PER_ROUND) + 2 * corrected  # + the successors' issued
    # No loss: every event's webhook-id arrived, and was answered 2xx.
    assert set(hook.filed) == {f"msg_{e.id.hex}" for e in all_events}
    # No reordering: per certificate, first arrivals in event order.
    seq_of = {f"msg_{e.id.hex}": e.seq for e in all_events}
    stream_of = {f"msg_{e.id.hex}": str(e.certificate_id) for e in all_events}
    first: dict[str, list[int]] = {}
    seen: set[str] = set()
    for m in hook.messages:
        if m.id not in seen:
            seen.add(m.id)
            first.setdefault(stream_of[m.id], []).append(seq_of[m.id])
    expected: dict[str, list[int]] = {}
    for e in all_events:
        expected.setdefault(str(e.certificate_id), []).append(e.seq)
    assert first == expected  # every certificate's events, first arrivals in the order they happened
    by_cert = hook.by_certificate()
    assert all(kinds[0] == "certificate.issued" for kinds in by_cert.values())
    # Duplicates: allowed, counted (each a message posted again after a kill lost its record).
    duplicates = len(hook.messages) - len(seen)
    print(f"\n{len(all_events)} events, {len(hook.messages)} messages, {duplicates} duplicates, {KILLS} kills "
          f"(deliveries stranded: {[len(k) for k in stranded]}), {took:.0f} s")
    for m in hook.messages:
        verifies(secret, m)
    # Every duplicate is a message that a killed worker had claimed (and posted) but not recorded.
    assert duplicates <= sum(len(k) for k in stranded)
