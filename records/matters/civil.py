"""Civil-status matters: birth, kinship, marital status, nationality, no criminal record."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from ..translation import NAME, PLACE, RELATION_EN
from .base import English, MatterInput, Name, Pinyin, Place, TextModel, en_date, zh_date
from .messages import refusal


class BirthInput(MatterInput):
    key: ClassVar[str] = "birth"
    title_zh: ClassVar[str] = "出生公证"
    title_en: ClassVar[str] = "Birth"
    english_renderings = {**MatterInput.english_renderings, "birth_place": PLACE, "father_name": NAME,
                          "mother_name": NAME}

    birth_place: str = Place
    birth_place_en: str | None = English()
    father_name: str = Name
    father_name_pinyin: str | None = Pinyin
    mother_name: str = Name
    mother_name_pinyin: str | None = Pinyin

    def statement(self) -> list[str]:
        return [
            f"兹证明{self.applicant_name}（{self.sex}，公民身份号码：{self.id_number}）于"
            f"{zh_date(self.birth_date)}在{self.birth_place}出生。",
            f"{self.applicant_name}的父亲是{self.father_name}，母亲是{self.mother_name}。",
        ]

    def statement_en(self) -> list[str]:
        return [
            f"This is to certify that {self.name_en} ({self.sex_en}, resident identity card No. {self.id_number}) "
            f"was born in {self.english('birth_place')} on {en_date(self.birth_date)}.",
            f"The father of {self.name_en} is {self.english('father_name')}; the mother is "
            f"{self.english('mother_name')}.",
        ]


class NoCriminalRecordInput(MatterInput):
    key: ClassVar[str] = "no-criminal-record"
    title_zh: ClassVar[str] = "无犯罪记录公证"
    title_en: ClassVar[str] = "No criminal record"
    english_renderings = {**MatterInput.english_renderings, "residence": PLACE}

    residence: str = Place
    residence_en: str | None = English()
    period_from: dt.date
    period_to: dt.date

    @model_validator(mode="after")
    def _period(self):
        if self.period_from > self.period_to:
            raise refusal("must not be after period_to", "不能晚于居住截止日期", field="period_from")
        if self.period_to > dt.date.today():
            raise refusal("must not be in the future", "不能晚于今天", field="period_to")
        if self.period_from < self.birth_date:
            raise refusal("must not be before birth_date", "不能早于出生日期", field="period_from")
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
            f"residence in {self.english('residence')} from {en_date(self.period_from)} to {en_date(self.period_to)}.",
        ]


class Relative(TextModel):
    english_renderings = {"name": NAME}

    name: str = Name
    name_pinyin: str | None = Pinyin
    relation: Literal["父亲", "母亲", "配偶", "儿子", "女儿", "兄弟", "姐妹", "祖父", "祖母", "外祖父", "外祖母"]
    birth_date: dt.date | None = None


class KinshipInput(MatterInput):
    key: ClassVar[str] = "kinship"
    title_zh: ClassVar[str] = "亲属关系公证"
    title_en: ClassVar[str] = "Kinship"

    relatives: list[Relative] = Field(min_length=1, max_length=20)

    def statement(self) -> list[str]:
        return [f"兹证明{r.name}是{self.applicant_name}（公民身份号码：{self.id_number}）的{r.relation}。"
                for r in self.relatives]

    def statement_en(self) -> list[str]:
        return [f"This is to certify that {r.english('name')} is the {RELATION_EN[r.relation]} of {self.name_en} "
                f"(resident identity card No. {self.id_number})." for r in self.relatives]


class MaritalStatusInput(MatterInput):
    key: ClassVar[str] = "marital-status"
    title_zh: ClassVar[str] = "婚姻状况公证"
    title_en: ClassVar[str] = "Marital status"
    english_renderings = {**MatterInput.english_renderings, "spouse_name": NAME}

    status: Literal["未婚", "已婚", "离婚"]
    spouse_name: str | None = Field(None, max_length=40)
    spouse_name_pinyin: str | None = Pinyin
    since: dt.date | None = Field(None, description="marriage or divorce date")

    @model_validator(mode="after")
    def _spouse(self):
        if self.status != "未婚" and (not self.spouse_name or not self.since):
            raise refusal("required with since when the status is 已婚 or 离婚",
                          "为必填项：婚姻状况为已婚或离婚时，须填写配偶姓名和结婚或离婚登记日期", field="spouse_name")
        if self.status == "未婚" and (self.spouse_name or self.since or self.spouse_name_pinyin):
            raise refusal("must be empty when the status is 未婚",
                          "应为空：婚姻状况为未婚时，不填写配偶姓名和结婚或离婚登记日期", field="spouse_name")
        return self

    def statement(self) -> list[str]:
        who = f"{self.applicant_name}（{self.sex}，公民身份号码：{self.id_number}）"
        if self.status == "未婚":
            return [f"兹证明{who}至今未曾登记结婚。"]
        assert self.since is not None  # required for a marriage or divorce (the model's validator)
        if self.status == "已婚":
            return [f"兹证明{who}与{self.spouse_name}于{zh_date(self.since)}登记结婚。"]
        return [f"兹证明{who}与{self.spouse_name}于{zh_date(self.since)}离婚，此后未再登记结婚。"]

    def statement_en(self) -> list[str]:
        who = f"{self.name_en} ({self.sex_en}, resident identity card No. {self.id_number})"
        spouse = self.english("spouse_name")
        if self.status == "未婚":
            return [f"This is to certify that {who} has never registered a marriage."]
        assert self.since is not None  # required for a marriage or divorce (the model's validator)
        if self.status == "已婚":
            return [f"This is to certify that {who} registered a marriage with {spouse} on {en_date(self.since)}."]
        return [f"This is to certify that {who} was divorced from {spouse} on {en_date(self.since)} "
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
