"""Electronic evidence preservation (电子证据保全): the preservation certificate (保全证书)
names what the office received, from whom, when, and its fingerprint. Its data come from the
office's own receipt of the file (preservation/), never typed by staff: staff drafts and the
issuing API refuse it (``requested_by_staff``)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import Field

from ..translation import TEXT
from .base import MatterInput

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")


def _zh_time(at: dt.datetime) -> str:
    local = at.astimezone(CHINA)
    return f"{local.year}年{local.month}月{local.day}日{local:%H:%M:%S}（北京时间）"


def _en_time(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%d %B %Y, %H:%M:%S UTC")


class EvidencePreservationInput(MatterInput):
    key: ClassVar[str] = "evidence-preservation"
    title_zh: ClassVar[str] = "电子证据保全"
    title_en: ClassVar[str] = "Preservation of electronic evidence"
    requested_by_staff: ClassVar[bool] = False
    english_renderings = {**MatterInput.english_renderings, "description": TEXT, "evidence_name": TEXT,
                          "on_behalf_of": TEXT}

    preservation_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="the preserved evidence's id (hex)")
    evidence_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, lower-case hex")
    evidence_size: int | None = Field(None, ge=0, le=10**13, description="the file's size in bytes, when known")
    evidence_name: str | None = Field(None, min_length=1, max_length=200, description="the file's name as submitted")
    evidence_name_en: str | None = Field(None, min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=500, description="what the file is, as the submitter says")
    description_en: str | None = Field(None, min_length=1, max_length=1500)
    on_behalf_of: str | None = Field(None, min_length=1, max_length=120, description="the company or client "
                                                                                      "the submitter acts for")
    on_behalf_of_en: str | None = Field(None, min_length=1, max_length=200)
    received_at: dt.datetime = Field(description="when the office received the file or its fingerprint")
    timestamp_time: dt.datetime = Field(description="the time in the RFC 3161 timestamp over the fingerprint")
    file_kept: bool = Field(description="the office keeps the file itself (else only its fingerprint)")
    retention_until: dt.date | None = Field(None, description="the office keeps the file until this day")

    def statement(self) -> list[str]:
        who = f"{self.applicant_name}（公民身份号码：{self.id_number}）"
        if self.on_behalf_of:
            who += f"代表{self.on_behalf_of}"
        what = f"电子数据“{self.evidence_name}”" if self.evidence_name else "电子数据"
        if self.evidence_size is not None:
            what += f"（{self.evidence_size}字节）"
        kept = (f"本处已将该电子数据加密保管至{self.retention_until.year}年{self.retention_until.month}月"
                f"{self.retention_until.day}日。" if self.file_kept and self.retention_until else
                "申请人仅提交了该电子数据的数字指纹，电子数据由申请人自行保管。")
        return [f"兹证明{who}于{_zh_time(self.received_at)}向本处申请电子证据保全，提交{what}。",
                f"证据说明：{self.description}",
                f"该电子数据的SHA-256数字指纹为：{self.evidence_sha256}",
                f"可信时间戳证明该数字指纹于{_zh_time(self.timestamp_time)}已经存在。{kept}",
                "任何人可将电子数据与本证书核对：数字指纹一致，即为本处保全的同一电子数据。"]

    def statement_en(self) -> list[str]:
        who = f"{self.name_en} (resident identity card No. {self.id_number})"
        if self.on_behalf_of:
            who += f", acting for {self.english_text('on_behalf_of')}"
        what = f'the electronic data "{self.english_text("evidence_name")}"' if self.evidence_name else "electronic data"
        if self.evidence_size is not None:
            what += f" ({self.evidence_size} bytes)"
        kept = (f"Our office keeps the data encrypted until {self.retention_until.isoformat()}."
                if self.file_kept and self.retention_until else
                "The applicant submitted only the fingerprint and keeps the data.")
        return [f"This is to certify that {who} applied to our office for the preservation of electronic evidence "
                f"on {_en_time(self.received_at)} and submitted {what}.",
                f"Description: {self.english('description')}",
                f"The SHA-256 fingerprint of the data is: {self.evidence_sha256}",
                f"A trusted timestamp proves that this fingerprint existed on {_en_time(self.timestamp_time)}. {kept}",
                "Anyone may compare the data with this certificate: the same fingerprint means the same data."]
