"""The base of every matter type: the applicant's fields, checks, and date formatting."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import idnumber

Name = Field(min_length=1, max_length=40)
Place = Field(min_length=1, max_length=80)


class MatterInput(BaseModel):
    """Fields every matter shares: the applicant, the notary, the purpose."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: ClassVar[str]
    title_zh: ClassVar[str]
    title_en: ClassVar[str]

    applicant_name: str = Name
    applicant_name_en: str | None = Field(None, max_length=60, description="name in Latin letters, e.g. ZHANG Ming")
    sex: Literal["男", "女"]
    birth_date: dt.date
    id_number: str = Field(min_length=18, max_length=18, description="公民身份号码 (GB 11643)")
    notary: str = Field(min_length=1, max_length=40, description="公证员")
    purpose: str | None = Field(None, max_length=80, description="用途, e.g. 留学")
    destination: str | None = Field(None, max_length=40, description="使用地 / 发往国家")
    accepting_office: str | None = Field(None, max_length=80, description="受理机构, when another office accepted the "
                                                                          "application (同城受理、异地出证)")

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
        """The certified statement in Chinese, one string a paragraph."""
        raise NotImplementedError

    def statement_en(self) -> list[str]:
        """The English translation (译文) of the statement."""
        raise NotImplementedError

    @property
    def name_en(self) -> str:
        return self.applicant_name_en or self.applicant_name

    @property
    def his_her(self) -> str:
        return "his" if self.sex == "男" else "her"

    @property
    def sex_en(self) -> str:
        return "male" if self.sex == "男" else "female"

    def age_on(self, day: dt.date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    def particulars(self) -> list[tuple[str, str]]:
        """Label/value pairs printed above the statement."""
        rows = [("申请人", self.applicant_name), ("性别", self.sex), ("出生日期", zh_date(self.birth_date)),
                ("公民身份号码", self.id_number)]
        if self.purpose:
            rows.append(("用途", self.purpose))
        if self.destination:
            rows.append(("使用地", self.destination))
        if self.accepting_office:
            rows.append(("受理机构", self.accepting_office))
        return rows


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


def en_date(d: dt.date) -> str:
    return d.strftime("%B ") + str(d.day) + d.strftime(", %Y")
