"""The feed's one public route: a receiver's time-limited download link for a PDF."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records import audit
from records.models import Certificate, CertificateDocument
from storage.clock import utcnow

from .errors import LinkInvalid
from .links import PATH, check_link
from .models import FeedReceiver


def router(engine: Engine, link_key: bytes, now: Callable = utcnow) -> APIRouter:
    r = APIRouter()

    @r.get(PATH, tags=["feed"], summary="A certificate's PDF, by a download link from a feed event",
           response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
    def download(certificate_id: uuid.UUID, r_: str = Query(alias="r", max_length=32),
                 e: str = Query(max_length=12), s_: str = Query(alias="s", max_length=64)) -> Response:
        link = check_link(link_key, certificate_id, r_, e, s_, now())
        with Session(engine) as s:
            receiver = s.get(FeedReceiver, link.receiver_id)
            cert = s.get(Certificate, certificate_id)
            document = s.get(CertificateDocument, certificate_id)
            # The PDF names the holder: only a receiver entitled to personal data may have it.
            if receiver is None or receiver.disabled_at is not None or not receiver.personal_data \
                    or cert is None or document is None or receiver.office_code != cert.office_code:
                raise LinkInvalid()
            name, office, pdf = receiver.name, cert.office_code, document.pdf
        # The PDF holds personal data: the read is recorded before it is handed out.
        audit.record(engine, f"feed:{name}"[:120], "feed.download", str(certificate_id),
                     {"receiver": str(link.receiver_id)}, office=office)
        return Response(pdf, media_type="application/pdf", headers={
            "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{certificate_id}.pdf"'})

    return r
