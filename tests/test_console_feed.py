"""The office administrator's view of the feed: receivers with their counts, deliveries with
the receiver's last answer, failures and dead letters, and replay; nobody else's."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update
from sqlmodel import Session

from feed.dispatcher import run_until_idle
from feed.deliveries import list_deliveries
from feed.models import DeliveryState, FeedDelivery
from feed.receivers import add_receiver
from issuer.auth import Role
from issuer.service import issue_certificate
from notary.app import create_app
from records.matters import EXAMPLES
from storage.clock import utcnow
from tests.console_helpers import csrf_of, make_person, signed_in_client
from tests.loopback_receiver import LoopbackReceiver


@pytest.fixture
def rt(runtime_factory):
    return runtime_factory(feed_allow_insecure_receivers=True, feed_dead_after_hours=0.0001)


def test_the_administrator_sees_deliveries_failures_and_replays_a_dead_one(rt):
    good, bad = LoopbackReceiver(204), LoopbackReceiver(500)
    try:
        key = rt.feed_config.sealing_key
        add_receiver(rt.engine, key, name="一网通办", url=good.url, actor="t", office_code=rt.office.code,
                     allow_insecure=True)
        failing, _ = add_receiver(rt.engine, key, name="<b>档案馆</b>", url=bad.url, actor="t",
                                  office_code=rt.office.code, allow_insecure=True)
        issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
        rt.worker().run_once(force=True)
        worker = rt.feed_worker()
        try:
            run_until_idle(worker, 10)
            time.sleep(0.5)  # past the (tiny) dead-letter age; the retry is made due at once
            with Session(rt.engine) as s:
                s.execute(update(FeedDelivery).values(next_attempt_at=utcnow()))
                s.commit()
            run_until_idle(worker, 10)
        finally:
            worker.close()
        app = create_app(rt)
        admin = signed_in_client(app, make_person(rt, "liming", Role.OFFICE_ADMIN, name="李明"))
        page = admin.get("/console/office/admin/feed")
        assert page.status_code == 200
        assert "一网通办" in page.text and "&lt;b&gt;档案馆&lt;/b&gt;" in page.text  # escaped, never markup
        assert 'data-state="delivered"' in page.text and 'data-state="dead"' in page.text
        assert "HTTP 500" in page.text
        dead = admin.get("/console/office/admin/feed?state=dead")
        assert dead.text.count('class="delivery"') == 1
        delivery_id = dead.text.split('class="delivery" data-state="dead" data-id="')[1].split('"')[0]

        notary = signed_in_client(app, make_person(rt, "wangfang", Role.NOTARY, name="王芳"))
        assert notary.get("/console/office/admin/feed").status_code == 403
        assert notary.post(f"/console/office/admin/feed/deliveries/{delivery_id}/replay",
                           data={"csrf": csrf_of(notary.get("/console/").text)}).status_code == 403
        # Without the CSRF token, nothing is replayed.
        assert admin.post(f"/console/office/admin/feed/deliveries/{delivery_id}/replay", data={}).status_code == 403

        bad.status = 204
        replayed = admin.post(f"/console/office/admin/feed/deliveries/{delivery_id}/replay",
                              data={"csrf": csrf_of(page.text)}, follow_redirects=False)
        assert replayed.status_code == 303
        assert 'data-state="pending"' in admin.get("/console/office/admin/feed").text
        worker = rt.feed_worker()
        try:
            run_until_idle(worker, 10)
        finally:
            worker.close()
        after = admin.get("/console/office/admin/feed")
        assert 'data-state="dead"' not in after.text
        assert len(bad.bodies) == 3 and b'"certificate.issued"' in bad.bodies[-1]  # failed, failed, replayed
        missing = admin.post("/console/office/admin/feed/deliveries/999999/replay", data={"csrf": csrf_of(page.text)})
        assert missing.status_code == 404
        assert {row.state for row in list_deliveries(rt.engine)} == {DeliveryState.DELIVERED.value}
        assert {row.receiver_id for row in list_deliveries(rt.engine)} >= {failing.id}
    finally:
        good.close()
        bad.close()
