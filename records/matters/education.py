"""Education and career matters: 学历, 学位, 经历."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from ..translation import DEGREE_EN, DISCIPLINE_EN, LEVEL_EN, MAJOR_EN, ORGANISATION, POSITION_EN, term
from .base import English, MatterInput, Place, TextModel, en_date, zh_date
from .messages import refusal


class EducationInput(MatterInput):
    key: ClassVar[str] = "education"
    title_zh: ClassVar[str] = "学历公证"
    title_en: ClassVar[str] = "Academic record"
    english_renderings = {**MatterInput.english_renderings, "school": ORGANISATION, "major": term(MAJOR_EN)}

    school: str = Place
    school_en: str | None = English()
    level: Literal["高中", "专科", "本科", "研究生"]
    major: str | None = Field(None, max_length=60)
    major_en: str | None = English()
    enrolled: dt.date
    graduated: dt.date
    diploma_number: str = Field(min_length=4, max_length=30)

    @model_validator(mode="after")
    def _dates(self):
        if not self.birth_date < self.enrolled < self.graduated <= dt.date.today():
            raise refusal("must come after enrolled, both after birth_date and not in the future",
                          "应晚于入学日期，入学日期应晚于出生日期，且毕业日期不能晚于今天", field="graduated")
        return self

    def statement(self) -> list[str]:
        major = f"{self.major}专业" if self.major else ""
        return [f"兹证明{self.applicant_name}（公民身份号码：{self.id_number}）于{zh_date(self.enrolled)}至"
                f"{zh_date(self.graduated)}在{self.school}{major}{self.level}学习，毕业证书编号为{self.diploma_number}。",
                "该毕业证书上的印鉴属实。"]

    def statement_en(self) -> list[str]:
        major = f" majoring in {self.english('major')}" if self.major else ""
        return [f"This is to certify that {self.name_en} (resident identity card No. {self.id_number}) studied at "
                f"{self.english('school')} at {LEVEL_EN[self.level]} level{major} from {en_date(self.enrolled)} to "
                f"{en_date(self.graduated)}; the diploma number is {self.diploma_number}.",
                "The seal on the diploma is genuine."]


class DegreeInput(MatterInput):
    key: ClassVar[str] = "degree"
    title_zh: ClassVar[str] = "学位公证"
    title_en: ClassVar[str] = "Academic degree"
    english_renderings = {**MatterInput.english_renderings, "institution": ORGANISATION,
                          "discipline": term(DISCIPLINE_EN)}

    institution: str = Place
    institution_en: str | None = English()
    degree: Literal["学士", "硕士", "博士"]
    discipline: str = Field(min_length=1, max_length=60, description="学科门类, e.g. 工学")
    discipline_en: str | None = English()
    conferred: dt.date
    certificate_number: str = Field(min_length=4, max_length=30)

    def statement(self) -> list[str]:
        return [f"兹证明{self.applicant_name}（公民身份号码：{self.id_number}）于{zh_date(self.conferred)}被"
                f"{self.institution}授予{self.discipline}{self.degree}学位，学位证书编号为{self.certificate_number}。"]

    def statement_en(self) -> list[str]:
        return [f"This is to certify that {self.name_en} (resident identity card No. {self.id_number}) was conferred "
                f"the degree of {DEGREE_EN[self.degree]} of {self.english('discipline')} by "
                f"{self.english('institution')} on "
                f"{en_date(self.conferred)}; the degree certificate number is {self.certificate_number}."]


class Position(TextModel):
    english_renderings = {"organisation": ORGANISATION, "position": term(POSITION_EN)}

    start: dt.date
    end: dt.date | None = None  # None: to date
    organisation: str = Field(min_length=1, max_length=80)
    organisation_en: str | None = English()
    position: str = Field(min_length=1, max_length=40)
    position_en: str | None = English()

    @model_validator(mode="after")
    def _order(self):
        if self.end is not None and self.end < self.start:
            raise refusal("must not be before start", "不能早于起始日期", field="end")
        return self


class ExperienceInput(MatterInput):
    key: ClassVar[str] = "experience"
    title_zh: ClassVar[str] = "经历公证"
    title_en: ClassVar[str] = "Work experience"

    positions: list[Position] = Field(min_length=1, max_length=30)

    def statement(self) -> list[str]:
        lines = [f"兹证明{self.applicant_name}（公民身份号码：{self.id_number}）的工作经历如下："]
        lines += [f"{zh_date(p.start)}至{zh_date(p.end) if p.end else '今'}，在{p.organisation}任{p.position}。"
                  for p in self.positions]
        return lines

    def statement_en(self) -> list[str]:
        lines = [f"This is to certify the following work experience of {self.name_en} "
                 f"(resident identity card No. {self.id_number}):"]
        lines += [f"From {en_date(p.start)} to {en_date(p.end) if p.end else 'the present'}: "
                  f"{_capitalised(p.english_text('position'))}, {_sentence(p.english_text('organisation'))}"
                  for p in self.positions]
        return lines


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    """``text`` with a full stop, unless it ends in one already (Co., Ltd.)."""
    return text if text.endswith(".") else text + "."
