"""Civil-status matters: birth, kinship, marital status, nationality, no criminal record."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .base import MatterInput, Name, Place, TextModel, en_date, zh_date


class BirthInput(MatterInput):
    key: ClassVar[str] = "birth"
    title_zh: ClassVar[str] = "出生公证"
    title_en: ClassVar[str] = "Birth"

    birth_place: str = Place
    father_name: str = Name
    mother_name: str = Name

    def statement(self) -> list[str]:
        return [
            f"兹证明{self.applicant_name}（{self.sex}，公民身份号码：{self.id_number}）于"
            f"{zh_date(self.birth_date)}在{self.birth_place}出生。",
            f"{self.applicant_name}的父亲是{self.father_name}，母亲是{self.mother_name}。",
        ]

    def statement_en(self) -> list[str]:
        return [
            f"This is to certify that {self.name_en} ({self.sex_en}, resident identity card No. {self.id_number}) "
            f"was born in {self.birth_place} on {en_date(self.birth_date)}.",
            f"The father of {self.name_en} is {self.father_name}; the mother is {self.mother_name}.",
        ]


class NoCriminalRecordInput(MatterInput):
    key: ClassVar[str] = "no-criminal-record"
    title_zh: ClassVar[str] = "无犯罪记录公证"
    title_en: ClassVar[str] = "No criminal record"

    residence: str = Place
    period_from: dt.date
    period_to: dt.date

    @model_validator(mode="after")
    def _period(self):
        if self.period_from > self.period_to:
            raise ValueError("period_from: must not be after period_to")
        if self.period_to > dt.date.today():
            raise ValueError("period_to: must not be in the future")
        if self.period_from < self.birth_date:
            raise ValueError("period_from: must not be before birth_date")
        return self

    def statement(self) -> list[str]:
        return [
            f"兹证明{self.applicant_name}（{self.sex}，{zh_date(self.birth_date)}出生，"
            f"公民身份号码：{self.id_number}）自{zh_date(self.period_from)}至{zh_date(self.period_to)}"
            f"在{self.residence}居住期间无犯罪记录。",
        ]

    def statement_en(self) -> list[str]:
        return [
            f"This is to certify that {self.name_en} ({self.sex_en}, born on {en_date(self.birth_date)}, resident "
            f"identity card No. {self.id_number}) has no criminal record during {self.his_her} "
            f"residence in {self.residence} from {en_date(self.period_from)} to {en_date(self.period_to)}.",
        ]


class Relative(TextModel):
    name: str = Name
    relation: Literal["父亲", "母亲", "配偶", "儿子", "女儿", "兄弟", "姐妹", "祖父", "祖母", "外祖父", "外祖母"]
    birth_date: dt.date | None = None


RELATION_EN = {"父亲": "father", "母亲": "mother", "配偶": "spouse", "儿子": "son", "女儿": "daughter",
               "兄弟": "brother", "姐妹": "sister", "祖父": "paternal grandfather", "祖母": "paternal grandmother",
               "外祖父": "maternal grandfather", "外祖母": "maternal grandmother"}


class KinshipInput(MatterInput):
    key: ClassVar[str] = "kinship"
    title_zh: ClassVar[str] = "亲属关系公证"
    title_en: ClassVar[str] = "Kinship"

    relatives: list[Relative] = Field(min_length=1, max_length=20)

    def statement(self) -> list[str]:
        return [f"兹证明{r.name}是{self.applicant_name}（公民身份号码：{self.id_number}）的{r.relation}。"
                for r in self.relatives]

    def statement_en(self) -> list[str]:
        return [f"This is to certify that {r.name} is the {RELATION_EN[r.relation]} of {self.name_en} "
                f"(resident identity card No. {self.id_number})." for r in self.relatives]


class MaritalStatusInput(MatterInput):
    key: ClassVar[str] = "marital-status"
    title_zh: ClassVar[str] = "婚姻状况公证"
    title_en: ClassVar[str] = "Marital status"

    status: Literal["未婚", "已婚", "离婚"]
    spouse_name: str | None = Field(None, max_length=40)
    since: dt.date | None = Field(None, description="marriage or divorce date")

    @model_validator(mode="after")
    def _spouse(self):
        if self.status != "未婚" and (not self.spouse_name or not self.since):
            raise ValueError("spouse_name: required with since when the status is 已婚 or 离婚")
        if self.status == "未婚" and (self.spouse_name or self.since):
            raise ValueError("spouse_name: must be empty when the status is 未婚")
        return self

    def statement(self) -> list[str]:
        who = f"{self.applicant_name}（{self.sex}，公民身份号码：{self.id_number}）"
        if self.status == "未婚":
            return [f"兹证明{who}至今未曾登记结婚。"]
        if self.status == "已婚":
            return [f"兹证明{who}与{self.spouse_name}于{zh_date(self.since)}登记结婚。"]
        return [f"兹证明{who}与{self.spouse_name}于{zh_date(self.since)}离婚，此后未再登记结婚。"]

    def statement_en(self) -> list[str]:
        who = f"{self.name_en} ({self.sex_en}, resident identity card No. {self.id_number})"
        if self.status == "未婚":
            return [f"This is to certify that {who} has never registered a marriage."]
        if self.status == "已婚":
            return [f"This is to certify that {who} registered a marriage with {self.spouse_name} on {en_date(self.since)}."]
        return [f"This is to certify that {who} was divorced from {self.spouse_name} on {en_date(self.since)} "
                f"and has not registered a marriage since."]


class NationalityInput(MatterInput):
    key: ClassVar[str] = "nationality"
    title_zh: ClassVar[str] = "国籍公证"
    title_en: ClassVar[str] = "Nationality"

    passport_number: str | None = Field(None, max_length=20)

    def statement(self) -> list[str]:
        passport = f"，持有中华人民共和国护照（号码：{self.passport_number}）" if self.passport_number else ""
        return [f"兹证明{self.applicant_name}（{self.sex}，{zh_date(self.birth_date)}出生，公民身份号码："
                f"{self.id_number}{passport}）具有中华人民共和国国籍。"]

    def statement_en(self) -> list[str]:
        passport = f", holder of passport No. {self.passport_number}" if self.passport_number else ""
        return [f"This is to certify that {self.name_en} ({self.sex_en}, born on {en_date(self.birth_date)}, "
                f"resident identity card No. {self.id_number}{passport}) is a national of the People's Republic of China."]
