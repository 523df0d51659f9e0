"""Matter types (公证事项): the typed input each one takes and the statement it certifies.

A matter turns validated input into the paragraphs of the certificate. New matters are
added by subclassing :class:`MatterInput` and registering it in :data:`MATTERS`.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import idnumber
from .errors import InvalidMatterData, UnknownMatter

Name = Field(min_length=1, max_length=40)
Place = Field(min_length=1, max_length=80)


class MatterInput(BaseModel):
    """Fields every matter shares: the applicant, the notary, the purpose."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: ClassVar[str]
    title_zh: ClassVar[str]
    title_en: ClassVar[str]

    applicant_name: str = Name
    sex: Literal["男", "女"]
    birth_date: dt.date
    id_number: str = Field(min_length=18, max_length=18, description="公民身份号码 (GB 11643)")
    notary: str = Field(min_length=1, max_length=40, description="公证员")
    purpose: str | None = Field(None, max_length=80, description="用途, e.g. 留学")
    destination: str | None = Field(None, max_length=40, description="使用地 / 发往国家")

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, v: str) -> str:
        return idnumber.validate(v)

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, v: dt.date) -> dt.date:
        if v > dt.date.today() or v.year < 1900:
            raise ValueError("must be a real date between 1900 and today")
        return v

    @model_validator(mode="after")
    def _id_matches_birth(self):
        if idnumber.birth_date(self.id_number) != self.birth_date:
            raise ValueError("id_number: the birth date inside the ID number differs from birth_date")
        return self

    def statement(self) -> list[str]:
        raise NotImplementedError

    def person(self) -> str:
        return (
            f"{self.applicant_name}，{self.sex}，{zh_date(self.birth_date)}出生，"
            f"公民身份号码：{self.id_number}"
        )

    def particulars(self) -> list[tuple[str, str]]:
        """Label/value pairs printed above the statement."""
        rows = [("申请人", self.applicant_name), ("性别", self.sex), ("出生日期", zh_date(self.birth_date)),
                ("公民身份号码", self.id_number)]
        if self.purpose:
            rows.append(("用途", self.purpose))
        if self.destination:
            rows.append(("使用地", self.destination))
        return rows


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


MATTERS: dict[str, type[MatterInput]] = {m.key: m for m in (BirthInput, NoCriminalRecordInput)}

EXAMPLES: dict[str, dict] = {
    "birth": {
        "applicant_name": "张明", "sex": "男", "birth_date": "1990-03-07",
        "id_number": "310101199003070027", "birth_place": "上海市黄浦区",
        "father_name": "张建国", "mother_name": "李秀英", "notary": "王丽",
        "purpose": "留学", "destination": "美国",
    },
    "no-criminal-record": {
        "applicant_name": "陈静", "sex": "女", "birth_date": "1988-11-20",
        "id_number": "310115198811200049", "residence": "上海市浦东新区",
        "period_from": "2006-11-20", "period_to": "2026-10-31", "notary": "王丽",
        "purpose": "工作签证", "destination": "加拿大",
    },
}


def matter_type(key: str) -> type[MatterInput]:
    try:
        return MATTERS[key]
    except KeyError:
        raise UnknownMatter(
            f"unknown matter type '{key}'; known: {', '.join(MATTERS)}",
            f"未知的公证事项“{key}”；可选：{'、'.join(MATTERS)}",
        ) from None


def parse_matter(key: str, data: object) -> MatterInput:
    """Validate input for a matter; field errors name the field and the rule."""
    model = matter_type(key)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(input)", "rule": e["type"], "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise InvalidMatterData(f"invalid input for {key}: {summary}", errors, f"{model.title_zh}申请数据有误：{summary}") from None


_DIGITS = "〇一二三四五六七八九"


def zh_date(d: dt.date) -> str:
    """Arabic-numeral date in Chinese style: 1990年3月7日."""
    return f"{d.year}年{d.month}月{d.day}日"


def _zh_number(n: int) -> str:
    if n < 10:
        return _DIGITS[n] if n else ""
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def zh_formal_date(d: dt.date) -> str:
    """The certificate's date in Chinese numerals: 二〇二六年十一月二十三日."""
    year = "".join(_DIGITS[int(c)] for c in str(d.year))
    return f"{year}年{_zh_number(d.month)}月{_zh_number(d.day)}日"
