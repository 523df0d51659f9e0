"""Matters about property and intentions: 委托书, 声明书, 继承权, 遗嘱."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from .. import idnumber
from .base import MatterInput, Name, TextModel, en_date, zh_date


class PowerOfAttorneyInput(MatterInput):
    """The applicant is the principal (委托人)."""

    key: ClassVar[str] = "power-of-attorney"
    title_zh: ClassVar[str] = "委托书公证"
    title_en: ClassVar[str] = "Power of attorney"

    agent_name: str = Name
    agent_id_number: str = Field(min_length=18, max_length=18)
    scope: Literal["特别授权", "全权委托"]
    powers: list[str] = Field(min_length=1, max_length=20, description="each power granted, e.g. 代为出售上海市某房产")
    disposes_real_estate: bool = Field(False, description="the powers include selling, mortgaging or giving away real estate")
    signed_on: dt.date
    valid_until: dt.date | None = None

    @field_validator("agent_id_number")
    @classmethod
    def _agent_id(cls, v: str) -> str:
        return idnumber.validate(v)

    @field_validator("powers")
    @classmethod
    def _powers(cls, v: list[str]) -> list[str]:
        if any(not p.strip() or len(p) > 200 for p in v):
            raise ValueError("each power must be 1 to 200 characters")
        return [p.strip() for p in v]

    def statement(self) -> list[str]:
        powers = "；".join(self.powers)
        until = f"，委托期限至{zh_date(self.valid_until)}" if self.valid_until else ""
        return [f"兹证明委托人{self.applicant_name}（公民身份号码：{self.id_number}）于{zh_date(self.signed_on)}"
                f"来到我处，在前面的委托书上签名，委托{self.agent_name}（公民身份号码：{self.agent_id_number}）"
                f"以{self.scope}方式代为办理下列事项：{powers}{until}。",
                "委托人的签名属实，委托行为符合《中华人民共和国民法典》第一百四十三条的规定。"]

    def statement_en(self) -> list[str]:
        powers = "; ".join(self.powers)
        until = f", valid until {en_date(self.valid_until)}" if self.valid_until else ""
        scope = "a special" if self.scope == "特别授权" else "a general"
        return [f"This is to certify that the principal {self.name_en} (resident identity card No. {self.id_number}) "
                f"came to our office on {en_date(self.signed_on)} and signed the foregoing power of attorney, granting "
                f"{scope} authority to {self.agent_name} (resident identity card No. {self.agent_id_number}) for the "
                f"following: {powers}{until}.",
                "The signature of the principal is genuine, and the act of authorisation complies with Article 143 "
                "of the Civil Code of the People's Republic of China."]


class DeclarationInput(MatterInput):
    key: ClassVar[str] = "declaration"
    title_zh: ClassVar[str] = "声明书公证"
    title_en: ClassVar[str] = "Declaration"

    text: str = Field(min_length=1, max_length=2000, description="the declaration as the applicant wrote it")
    signed_on: dt.date

    def statement(self) -> list[str]:
        return [f"兹证明声明人{self.applicant_name}（公民身份号码：{self.id_number}）于{zh_date(self.signed_on)}来到我处，"
                "在前面的声明书上签名。声明人的签名属实。", f"声明内容：{self.text}"]

    def statement_en(self) -> list[str]:
        return [f"This is to certify that the declarant {self.name_en} (resident identity card No. {self.id_number}) "
                f"came to our office on {en_date(self.signed_on)} and signed the foregoing declaration. "
                "The signature of the declarant is genuine.", f"The declaration reads: {self.text}"]


class Heir(TextModel):
    name: str = Name
    relation: str = Field(min_length=1, max_length=20, description="relation to the deceased, e.g. 配偶, 儿子")


class InheritanceInput(MatterInput):
    """The applicant is one of the heirs."""

    key: ClassVar[str] = "inheritance"
    title_zh: ClassVar[str] = "继承权公证"
    title_en: ClassVar[str] = "Right of inheritance"

    deceased_name: str = Name
    died_on: dt.date
    estate: str = Field(min_length=1, max_length=500, description="the estate, e.g. 上海市某区某路某号房屋")
    heirs: list[Heir] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _applicant_is_heir(self):
        if self.applicant_name not in {h.name for h in self.heirs}:
            raise ValueError("heirs: the applicant must be one of the heirs")
        if self.died_on > dt.date.today():
            raise ValueError("died_on: must not be in the future")
        return self

    def statement(self) -> list[str]:
        heirs = "、".join(f"{h.name}（{h.relation}）" for h in self.heirs)
        return [f"被继承人{self.deceased_name}于{zh_date(self.died_on)}死亡，生前未立遗嘱，遗留{self.estate}。",
                f"兹证明被继承人{self.deceased_name}的上述遗产由其法定继承人{heirs}共同继承。"]

    def statement_en(self) -> list[str]:
        heirs = ", ".join(f"{h.name} ({h.relation})" for h in self.heirs)
        return [f"The decedent {self.deceased_name} died on {en_date(self.died_on)} without a will, leaving: {self.estate}.",
                f"This is to certify that the said estate is inherited jointly by the statutory heirs: {heirs}."]


class WillInput(MatterInput):
    """The applicant is the testator (立遗嘱人)."""

    key: ClassVar[str] = "will"
    title_zh: ClassVar[str] = "遗嘱公证"
    title_en: ClassVar[str] = "Will"

    made_on: dt.date
    safekeeping: bool = Field(False, description="the office keeps the will (遗嘱保管)")

    def statement(self) -> list[str]:
        kept = "该遗嘱由本公证处保管。" if self.safekeeping else ""
        return [f"兹证明立遗嘱人{self.applicant_name}（公民身份号码：{self.id_number}）于{zh_date(self.made_on)}来到我处，"
                f"在前面的遗嘱上签名。立遗嘱人立遗嘱时具有完全民事行为能力，意思表示真实，签名属实。{kept}"]

    def statement_en(self) -> list[str]:
        kept = " The will is kept in the custody of this notary office." if self.safekeeping else ""
        return [f"This is to certify that the testator {self.name_en} (resident identity card No. {self.id_number}) "
                f"came to our office on {en_date(self.made_on)} and signed the foregoing will. At the time the "
                f"testator had full capacity for civil conduct, expressed true intention, and the signature is "
                f"genuine.{kept}"]
