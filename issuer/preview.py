"""A draft's certificate as it would print, before it is issued: rendered with the same
layout, never signed, numbered and marked as a preview (样稿) so that a printout of it can
not pass for a certificate — its QR code names no certificate."""

from __future__ import annotations

import datetime as dt
import uuid

from records.matters import parse_matter, requestable_matter

from .policy import apply_policies
from .render import CertificatePage, render_certificate
from .service import IssuerContext

PREVIEW_NUMBER = "样稿·未出证 PREVIEW"
PREVIEW_QR = "PREVIEW - NOT A CERTIFICATE / 样稿，不是公证书"


def render_preview(ctx: IssuerContext, matter_key: str, data: object, language: str = "zh") -> bytes:
    """The unsigned PDF of what issuing ``data`` would print today. Raises what issuing
    would raise for data that cannot be issued (InvalidMatterData, PolicyViolation,
    MatterNotRequestable)."""
    requestable_matter(matter_key)
    matter = parse_matter(matter_key, data)
    today = dt.date.today()
    apply_policies(matter, today)
    page = CertificatePage(uuid.UUID(int=0), PREVIEW_NUMBER, ctx.office.name, today, matter, PREVIEW_QR, "PREVIEW",
                           bilingual=language == "zh-en")
    return render_certificate(page, ctx.font_path)
