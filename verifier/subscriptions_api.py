"""The registries' subscription API (verifier.subscriptions): subscribe to certificates this
API key has verified, list the subscriptions, unsubscribe. Authenticated, rate-limited and
answered like the batch API (verifier.api): the same key, the same per-key budget (a
certificate subscribed costs what an item verified costs), the same error format."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from . import subscriptions
from .apikeys import authenticate_api_key
from .errors import BadSubscriptionRef, BatchTooLarge
from .gate import Gate
from .models import ApiKey
from .service import VerifierContext

PATH = "/api/v1/subscriptions"
MAX_PAGE = 10_000  # a million subscriptions a key, a hundred a page


def _ref(text: str) -> str:
    try:
        subscriptions.parse_ref(text)
    except BadSubscriptionRef as exc:
        raise ValueError(exc.message) from None
    return text


CertificateRef = Annotated[str, Field(min_length=1, max_length=subscriptions.REF_MAX_CHARS,
                                      description="a certificate id (UUID) or its PDF's SHA-256 (hex)"),
                           AfterValidator(_ref)]


class SubscribeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    certificates: list[CertificateRef] = Field(min_length=1, max_length=subscriptions.SUBSCRIBE_MAX)


class SubscribeResult(BaseModel):
    input: str
    subscribed: bool
    certificate_id: uuid.UUID | None = None
    status: str | None = Field(default=None, description="issued, revoked or superseded (corrected)")
    new: bool | None = Field(default=None, description="false when this key was already subscribed")
    error: dict | None = Field(default=None, description="why not: NOT_VERIFIED_BY_YOU, for a certificate this key "
                                                         "has not verified and for one that does not exist alike")


class SubscribeResponse(BaseModel):
    results: list[SubscribeResult]
    subscribed: int
    refused: int


class SubscriptionItem(BaseModel):
    certificate_id: uuid.UUID
    number: str | None
    status: str | None
    successor_id: uuid.UUID | None = Field(description="the certificate that corrects it, once corrected")
    subscribed_at: dt.datetime


class SubscriptionList(BaseModel):
    page: int
    per_page: int
    total: int
    subscriptions: list[SubscriptionItem]


def router(ctx: VerifierContext, gate: Gate) -> APIRouter:
    r = APIRouter()

    def admit(authorization: str | None, items: int) -> ApiKey:
        """The registry's key, with ``items`` taken from its budget (as verify_batch does)."""
        key = authenticate_api_key(ctx.engine, authorization)
        if items > key.items_per_minute:
            raise BatchTooLarge(key.items_per_minute)  # it would never fit in the key's minute
        gate.limiter.take(str(key.id), items, key.items_per_minute)
        return key

    @r.post(PATH, response_model=SubscribeResponse, tags=["subscriptions"],
            summary=f"Registries: subscribe to up to {subscriptions.SUBSCRIBE_MAX} certificates this API key has "
                    "verified (ids or fingerprints), to hear of their revocation or correction")
    def subscribe(body: SubscribeRequest,
                  authorization: Annotated[str | None, Header()] = None) -> SubscribeResponse:
        key = admit(authorization, len(body.certificates))
        outcomes = subscriptions.subscribe(ctx.engine, key.id, body.certificates, actor=f"apikey:{key.name}")
        results = [SubscribeResult(input=o.ref, subscribed=o.refused is None, certificate_id=o.certificate_id,
                                   status=o.status, new=o.new if o.refused is None else None,
                                   error=o.refused.client_view() if o.refused is not None else None)
                   for o in outcomes]
        done = sum(x.subscribed for x in results)
        return SubscribeResponse(results=results, subscribed=done, refused=len(results) - done)

    @r.get(PATH, response_model=SubscriptionList, tags=["subscriptions"],
           summary="Registries: this API key's subscriptions, a hundred a page, oldest first")
    def listing(page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
              authorization: Annotated[str | None, Header()] = None) -> SubscriptionList:
        key = admit(authorization, 1)
        found = subscriptions.list_subscriptions(ctx.engine, key.id, page)
        return SubscriptionList(page=found.page, per_page=found.per_page, total=found.total, subscriptions=[
            SubscriptionItem(certificate_id=x.certificate_id, number=x.number, status=x.status,
                             successor_id=x.successor_id, subscribed_at=x.subscribed_at)
            for x in found.subscriptions])

    @r.delete(PATH + "/{certificate_id}", status_code=204, response_class=Response, tags=["subscriptions"],
              summary="Registries: unsubscribe this API key from a certificate")
    def unsubscribe(certificate_id: uuid.UUID, authorization: Annotated[str | None, Header()] = None) -> Response:
        key = admit(authorization, 1)
        subscriptions.unsubscribe(ctx.engine, key.id, certificate_id, actor=f"apikey:{key.name}")
        return Response(status_code=204)

    return r
