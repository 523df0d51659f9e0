"""The drafts API (草稿): prepare, check, correct, discard and issue, for the office's own
notaries (each their own drafts) and administrators (all the office's); a registry
administrator sees certificates, not drafts."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from records import audit
from signing.text_safety import no_lone_surrogates

from .api import IssuedResponse, issued_response
from .auth import Principal, Role, authenticate_token
from .drafts import (
    check_draft,
    create_draft,
    discard_draft,
    get_draft,
    issue_draft,
    list_drafts,
    update_draft,
)
from .models import CertificateDraft, DraftState
from .service import IssuerContext

_Text = AfterValidator(no_lone_surrogates)  # see issuer/api.py


class DraftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matter: Annotated[str, _Text] = Field(max_length=40, description="matter type, e.g. birth")
    data: Annotated[dict[str, Any], _Text] = Field(default_factory=dict,
                                                   description="the matter's input so far; may be incomplete")
    language: Literal["zh", "zh-en"] = "zh"


class DraftUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: Annotated[dict[str, Any], _Text]
    language: Literal["zh", "zh-en"] | None = None


class DraftView(BaseModel):
    id: uuid.UUID
    matter: str
    language: str
    state: str
    data: dict[str, Any]
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    certificate_id: uuid.UUID | None = None
    ready: bool = Field(description="true when issuing would pass validation and the office's policies")
    problem_code: str | None = None
    problem: str | None = None
    problem_fields: list[dict] = Field(default_factory=list)


class DraftList(BaseModel):
    items: list[DraftView]
    total: int
    limit: int
    offset: int


class DraftIssued(BaseModel):
    draft: DraftView
    certificate: IssuedResponse


def _view(draft: CertificateDraft) -> DraftView:
    problems = check_draft(draft) if draft.state == DraftState.OPEN else None
    return DraftView(id=draft.id, matter=draft.matter, language=draft.language, state=draft.state,
                     data=json.loads(draft.data_json), created_by=draft.created_by, created_at=draft.created_at,
                     updated_at=draft.updated_at, certificate_id=draft.certificate_id,
                     ready=problems is not None and problems.ready,
                     problem_code=problems.code if problems else None, problem=problems.message if problems else None,
                     problem_fields=problems.fields if problems else [])


def router(ctx: IssuerContext) -> APIRouter:
    r = APIRouter(prefix="/api/v1/drafts", tags=["drafts"])
    office = ctx.office.code

    def issuer(authorization: str | None):
        p = authenticate_token(ctx.engine, authorization)
        p.require_issuer(office)  # notaries and administrators of this office only
        return p

    def owner(p: Principal) -> uuid.UUID | None:
        """A notary works on the drafts they started; an administrator on all the office's."""
        return p.holder_id if p.role == Role.NOTARY else None

    @r.post("", status_code=201, response_model=DraftView, summary="Start a draft")
    def create(body: DraftRequest, authorization: Annotated[str | None, Header()] = None) -> DraftView:
        p = issuer(authorization)
        return _view(create_draft(ctx.engine, office, body.matter, p.name_as_notary(body.data), body.language, p.actor,
                                  holder=p.holder_id))

    @r.get("", response_model=DraftList, summary="Drafts of your office")
    def list_(authorization: Annotated[str | None, Header()] = None,
              state: Annotated[str | None, Query(pattern="^(open|issued|discarded)$")] = "open",
              limit: Annotated[int, Query(ge=1, le=200)] = 50,
              offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> DraftList:
        p = issuer(authorization)
        rows, total = list_drafts(ctx.engine, office, state, limit, offset, owner=owner(p))
        if rows:  # drafts hold the applicants' particulars: whose were shown to whom is recorded
            audit.record(ctx.engine, p.actor, "draft.list", "drafts", {"state": state, "ids": [str(d.id) for d in rows]},
                         office=office)
        return DraftList(items=[_view(d) for d in rows], total=total, limit=limit, offset=offset)

    @r.get("/{draft_id}", response_model=DraftView, summary="One draft, with what still stops it")
    def get(draft_id: uuid.UUID, authorization: Annotated[str | None, Header()] = None) -> DraftView:
        p = issuer(authorization)
        draft = get_draft(ctx.engine, draft_id, office, owner=owner(p))
        audit.record(ctx.engine, p.actor, "draft.read", str(draft.id), {}, office=office)
        return _view(draft)

    @r.put("/{draft_id}", response_model=DraftView, summary="Replace a draft's data")
    def update(draft_id: uuid.UUID, body: DraftUpdate, authorization: Annotated[str | None, Header()] = None) -> DraftView:
        p = issuer(authorization)
        return _view(update_draft(ctx.engine, draft_id, office, body.data, body.language, p.actor, owner=owner(p),
                                  name_notary=p.name_as_notary))

    @r.delete("/{draft_id}", response_model=DraftView, summary="Discard a draft (作废)")
    def discard(draft_id: uuid.UUID, authorization: Annotated[str | None, Header()] = None) -> DraftView:
        p = issuer(authorization)
        return _view(discard_draft(ctx.engine, draft_id, office, p.actor, owner=owner(p)))

    @r.post("/{draft_id}/issue", status_code=201, response_model=DraftIssued, summary="Issue the draft (出证)")
    def issue(draft_id: uuid.UUID, authorization: Annotated[str | None, Header()] = None) -> DraftIssued:
        p = issuer(authorization)
        draft, issued = issue_draft(ctx, draft_id, office, p.actor, owner=owner(p), issued_by=p.owner,
                                    name_notary=p.name_as_notary)
        return DraftIssued(draft=_view(draft), certificate=issued_response(issued))

    return r
