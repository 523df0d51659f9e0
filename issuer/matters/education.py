"""Education and career matters: 学历, 学位, 经历."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .base import MatterInput, Place, TextModel, en_date, zh_date

LEVEL_EN = {"高中": "senior high school", "专科": "junior college", "本科": "undergraduate", "研究生": "postgraduate"}
DEGREE_EN = {"学士": "Bachelor", "硕士": "Master", "博士": "Doctor"}


class EducationInput(MatterInput):
    key: ClassVar[str] = "education"
    title_zh: ClassVar[str] = "学历公证"
    title_en: ClassVar[str] = "Academic record"

    school: str = Place
    level: Literal["高中", "专科", "本科", "研究生"]
    major: str | None = Field(None, max_length=60)
    enrolled: dt.date
    graduated: dt.date
    diploma_number: str = Field(min_length=4, max_length=30)

    @model_validator(mode="after")
    def _dates(self):
        if not self.birth_date < self.enrolled < self.graduated <= dt.date.today():
            raise ValueError("graduated: must come after enrolled, both after birth_date and not in the future")
        return self

    def statement(self) -> list[str]:
        major = f"{self.major}专业" if self.major else ""
        return [f"兹证明{self.applicant_name}（公民身份号码：{self.id_number}）于{zh_date(self.enrolled)}至"
                f"{zh_date(self.graduated)}在{self.school}{major}{self.level}学习，毕业证书编号为{self.diploma_number}。",
                "该毕业证书上的印鉴属实。"]

    def statement_en(self) -> list[str]:
        major = f" majoring in {self.major}" if self.major else ""
        return [f"This is to certify that {self.name_en} (resident identity card No. {self.id_number}) studied at "
                f"{self.school} at {LEVEL_EN[self.level]} level{major} from {en_date(self.enrolled)} to "
                f"{en_date(self.graduated)}; the diploma number is {self.diploma_number}.",
                "The seal on the diploma is genuine."]


class DegreeInput(MatterInput):
    key: ClassVar[str] = "degree"
    title_zh: ClassVar[str] = "学位公证"
    title_en: ClassVar[str] = "Academic degree"

    institution: str = Place
    degree: Literal["学士", "硕士", "博士"]
    discipline: str = Field(min_length=1, max_length=60)
    conferred: dt.date
    certificate_number: str = Field(min_length=4, max_length=30)

    def statement(self) -> list[str]:
        return [f"兹证明{self.applicant_name}（公民身份号码：{self.id_number}）于{zh_date(self.conferred)}被"
                f"{self.institution}授予{self.discipline}{self.degree}学位，学位证书编号为{self.certificate_number}。"]

    def statement_en(self) -> list[str]:
        return [f"This is to certify that {self.name_en} (resident identity card No. {self.id_number}) was conferred "
                f"the degree of {DEGREE_EN[self.degree]} of {self.discipline} by {self.institution} on "
                f"{en_date(self.conferred)}; the degree certificate number is {self.certificate_number}."]


class Position(TextModel):
    start: dt.date
    end: dt.date | None = None  # None: to date
    organisation: str = Field(min_length=1, max_length=80)
    position: str = Field(min_length=1, max_length=40)


class ExperienceInput(MatterInput):
    key: ClassVar[str] = "experience"
    title_zh: ClassVar[str] = "经历公证"
    title_en: ClassVar[str] = "Work experience"

    positions: list[Position] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _order(self):
        for p in self.positions:
            if p.end is not None and p.end < p.start:
                raise ValueError("positions: each end must not be before its start")
        return self

    def statement(self) -> list[str]:
        lines = [f"兹证明{self.applicant_name}（公民身份号码：{self.id_number}）的工作经历如下："]
        lines += [f"{zh_date(p.start)}至{zh_date(p.end) if p.end else '今'}，在{p.organisation}任{p.position}。"
                  for p in self.positions]
        return lines

    def statement_en(self) -> list[str]:
        lines = [f"This is to certify the following work experience of {self.name_en} "
                 f"(resident identity card No. {self.id_number}):"]
        lines += [f"From {en_date(p.start)} to {en_date(p.end) if p.end else 'the present'}: {p.position}, "
                  f"{p.organisation}." for p in self.positions]
        return lines
