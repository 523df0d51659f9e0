"""Matters about property and intentions: 委托书, 声明书, 继承权, 遗嘱."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ..translation import NAME, RELATION_EN, SCOPE_EN, TEXT, term
from .base import English, MatterInput, Name, Pinyin, TextModel, checked_id_number, en_date, zh_date
from .messages import refusal


class PowerOfAttorneyInput(MatterInput):
    """The applicant is the principal (委托人)."""

    key: ClassVar[str] = "power-of-attorney"
    title_zh: ClassVar[str] = "委托书公证"
    title_en: ClassVar[str] = "Power of attorney"
    english_renderings = {**MatterInput.english_renderings, "agent_name": NAME, "powers": TEXT}

    agent_name: str = Name
    agent_name_pinyin: str | None = Pinyin
    agent_id_number: str = Field(min_length=18, max_length=18)
    scope: Literal["特别授权", "全权委托"]
    powers: list[str] = Field(min_length=1, max_length=20, description="each power granted, e.g. 代为出售上海市某房产")
    powers_en: list[str] | None = Field(None, min_length=1, max_length=20,
                                        description="each power in English, in the same order (needed for a "
                                                    "bilingual certificate when the powers are in Chinese)")
    disposes_real_estate: bool = Field(False, description="the powers include selling, mortgaging or giving away real estate")
    signed_on: dt.date
    valid_until: dt.date | None = None

    @field_validator("agent_id_number")
    @classmethod
    def _agent_id(cls, v: str) -> str:
        return checked_id_number(v)

    @field_validator("powers")
    @classmethod
    def _powers(cls, v: list[str]) -> list[str]:
        if any(not p.strip() or len(p) > 200 for p in v):
            raise refusal("each power must be 1 to 200 characters", "每项应为1至200个字符")
        return [p.strip() for p in v]

    @field_validator("powers_en")
    @classmethod
    def _powers_en(cls, v: list[str] | None) -> list[str] | None:
        # English runs longer than the Chinese it translates.
        if v is not None and any(not p.strip() or len(p) > 600 for p in v):
            raise refusal("each power must be 1 to 600 characters", "每项应为1至600个字符")
        return v if v is None else [p.strip() for p in v]

    @model_validator(mode="after")
    def _one_translation_a_power(self):
        if self.powers_en is not None and len(self.powers_en) != len(self.powers):
            raise refusal(f"must have one item for each of the {len(self.powers)} powers, in the same order",
                          f"应与委托事项逐项对应（共{len(self.powers)}项）", field="powers_en")
        return self

    def statement(self) -> list[str]:
        powers = "；".join(self.powers)
        until = f"，委托期限至{zh_date(self.valid_until)}" if self.valid_until else ""
        return [f"兹证明委托人{self.applicant_name}（公民身份号码：{self.id_number}）于{zh_date(self.signed_on)}"
                f"来到我处，在前面的委托书上签名，委托{self.agent_name}（公民身份号码：{self.agent_id_number}）"
                f"以{self.scope}方式代为办理下列事项：{powers}{until}。",
                "委托人的签名属实，委托行为符合《中华人民共和国民法典》第一百四十三条的规定。"]

    def statement_en(self) -> list[str]:
        powers = "; ".join(self.english_list("powers"))
        until = f", valid until {en_date(self.valid_until)}" if self.valid_until else ""
        scope = f"a {SCOPE_EN[self.scope]}"
        return [f"This is to certify that the principal {self.name_en} (resident identity card No. {self.id_number}) "
                f"came to our office on {en_date(self.signed_on)} and signed the foregoing power of attorney, granting "
                f"{scope} authority to {self.english('agent_name')} (resident identity card No. {self.agent_id_number}) for the "
                f"following: {powers}{until}.",
                "The signature of the principal is genuine, and the act of authorisation complies with Article 143 "
                "of the Civil Code of the People's Republic of China."]


class DeclarationInput(MatterInput):
    key: ClassVar[str] = "declaration"
    title_zh: ClassVar[str] = "声明书公证"
    title_en: ClassVar[str] = "Declaration"
    english_renderings = {**MatterInput.english_renderings, "text": TEXT}

    text: str = Field(min_length=1, max_length=2000, description="the declaration as the applicant wrote it")
    text_en: str | None = Field(None, min_length=1, max_length=6000,
                                description="the declaration in English (needed for a bilingual certificate "
                                            "when the declaration is in Chinese)")
    signed_on: dt.date

    def statement(self) -> list[str]:
        return [f"兹证明声明人{self.applicant_name}（公民身份号码：{self.id_number}）于{zh_date(self.signed_on)}来到我处，"
                "在前面的声明书上签名。声明人的签名属实。", f"声明内容：{self.text}"]

    def statement_en(self) -> list[str]:
        return [f"This is to certify that the declarant {self.name_en} (resident identity card No. {self.id_number}) "
                f"came to our office on {en_date(self.signed_on)} and signed the foregoing declaration. "
                "The signature of the declarant is genuine.", f"The declaration reads: {self.english('text')}"]


class Heir(TextModel):
    english_renderings = {"name": NAME, "relation": term(RELATION_EN)}

    name: str = Name
    name_pinyin: str | None = Pinyin
    relation: str = Field(min_length=1, max_length=20, description="relation to the deceased, e.g. 配偶, 儿子")
    relation_en: str | None = English(60)


class InheritanceInput(MatterInput):
    """The applicant is one of the heirs."""

    key: ClassVar[str] = "inheritance"
    title_zh: ClassVar[str] = "继承权公证"
    title_en: ClassVar[str] = "Right of inheritance"
    english_renderings = {**MatterInput.english_renderings, "deceased_name": NAME, "estate": TEXT}

    deceased_name: str = Name
    deceased_name_pinyin: str | None = Pinyin
    died_on: dt.date
    estate: str = Field(min_length=1, max_length=500, description="the estate, e.g. 上海市某区某路某号房屋")
    estate_en: str | None = Field(None, min_length=1, max_length=1500,
                                  description="the estate in English (needed for a bilingual certificate when "
                                              "the estate is described in Chinese)")
    heirs: list[Heir] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _applicant_is_heir(self):
        if self.applicant_name not in {h.name for h in self.heirs}:
            raise refusal("the applicant must be one of the heirs", "中应包括申请人本人", field="heirs")
        if self.died_on > dt.date.today():
            raise refusal("must not be in the future", "不能晚于今天", field="died_on")
        return self

    def statement(self) -> list[str]:
        heirs = "、".join(f"{h.name}（{h.relation}）" for h in self.heirs)
        return [f"被继承人{self.deceased_name}于{zh_date(self.died_on)}死亡，生前未立遗嘱，遗留{self.estate}。",
                f"兹证明被继承人{self.deceased_name}的上述遗产由其法定继承人{heirs}共同继承。"]

    def statement_en(self) -> list[str]:
        heirs = ", ".join(f"{h.english('name')} ({h.english('relation')})" for h in self.heirs)
        return [f"The decedent {self.english('deceased_name')} died on {en_date(self.died_on)} without a will, "
                f"leaving: {self.english('estate')}.",
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
