"""The base of every matter type: the applicant's fields, checks, and date formatting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .. import idnumber, text_safety
from ..errors import InvalidMatterData

Name = Field(min_length=1, max_length=40)
Place = Field(min_length=1, max_length=80)

# How a clerk calls each field (field names are shared between matters; nested ones are
# prefixed by their list, e.g. relatives.0.name -> 亲属（第1项）姓名).
FIELD_LABELS_ZH: dict[str, str] = {
    "applicant_name": "申请人姓名", "applicant_name_en": "申请人外文姓名", "sex": "性别", "birth_date": "出生日期",
    "id_number": "公民身份号码", "notary": "公证员姓名", "purpose": "用途", "destination": "使用地",
    "accepting_office": "受理机构", "birth_place": "出生地", "father_name": "父亲姓名", "mother_name": "母亲姓名",
    "residence": "居住地", "relatives": "亲属", "name": "姓名", "relation": "关系", "status": "婚姻状况",
    "spouse_name": "配偶姓名", "passport_number": "护照号码", "school": "学校", "level": "学历层次",
    "major": "专业", "diploma_number": "毕业证书编号", "institution": "学位授予单位", "degree": "学位",
    "discipline": "学科门类", "certificate_number": "学位证书编号", "positions": "工作经历",
    "organisation": "工作单位", "position": "职务", "agent_name": "受托人姓名", "agent_id_number": "受托人公民身份号码",
    "scope": "授权范围", "powers": "委托事项", "text": "声明内容", "deceased_name": "被继承人姓名",
    "estate": "遗产", "heirs": "继承人",
}


def field_label_zh(field: str) -> str:
    """The Chinese label of a dotted field path: ``heirs.1.name`` -> 继承人（第2项）姓名."""
    out = []
    for part in field.split("."):
        out.append(f"（第{int(part) + 1}项）" if part.isdigit() else FIELD_LABELS_ZH.get(part, part))
    return "".join(out)


class TextModel(BaseModel):
    """A model whose every string (and every string in a list) passes the character policy
    of :mod:`issuer.text_safety`: no control, invisible format, private-use, unassigned or
    surrogate characters. The error names the field and the character for a clerk.

    Code that reads back a stored record (which may predate the policy) validates with
    ``context={"stored_record": True}``, which skips it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _printable_characters(cls, value: object, info: ValidationInfo) -> object:
        if info.context and info.context.get("stored_record"):
            # Reading back a record issued before this policy: it was printed as it is.
            return value
        if isinstance(value, str):
            _refuse_unprintable(value, None)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    _refuse_unprintable(item, i)
        return value

    def text_fields(self, prefix: str = "") -> Iterator[tuple[str, int | None, str]]:
        """(field path, list item, text) of every string in the model, nested ones included.
        A string in a list of strings is named by the list (``powers``) and its index, as
        validation names it; a string in a list of models by its full path (``heirs.0.name``)."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            path = f"{prefix}{name}"
            if isinstance(value, str):
                yield path, None, value
            elif isinstance(value, TextModel):
                yield from value.text_fields(f"{path}.")
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, str):
                        yield path, i, item
                    elif isinstance(item, TextModel):
                        yield from item.text_fields(f"{path}.{i}.")


def _describe(found: list, item: int | None) -> tuple[str, str]:
    en, zh = text_safety.describe(found)
    return (en, zh) if item is None else (f"item {item + 1}: {en}", f"第{item + 1}项{zh}")


def _refuse_unprintable(text: str, item: int | None) -> None:
    found = text_safety.problems(text)
    if found:
        en, zh = _describe(found, item)
        # message_zh lacks the field's label, which parse_matter puts in front (it knows the path)
        raise PydanticCustomError("text_character", "{detail}", {"detail": en, "message_zh": zh})


def invalid_fields(subject_en: str, subject_zh: str, errors: list[dict]) -> InvalidMatterData:
    """An InvalidMatterData naming every field (``errors``: field, rule, message, and
    message_zh when there is one)."""
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    summary_zh = "；".join(e.get("message_zh") or f"{e['field']}: {e['message']}" for e in errors)
    return InvalidMatterData(f"invalid input for {subject_en}: {summary}", errors, f"{subject_zh}申请数据有误：{summary_zh}")


class MatterInput(TextModel):
    """Fields every matter shares: the applicant, the notary, the purpose."""

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

    def glyph_errors(self, charset: frozenset[int]) -> list[dict]:
        """Field errors for every string with a character the certificate font cannot show
        (``charset``: :func:`issuer.text_safety.font_charset`); empty when all print."""
        errors = []
        for path, item, text in self.text_fields():
            found = text_safety.problems(text, charset)
            if found:
                en, zh = _describe(found, item)
                errors.append({"field": path, "rule": "glyph_missing", "message": en,
                               "message_zh": field_label_zh(path) + zh})
        return errors

    def statement(self) -> list[str]:
        """The certified statement in Chinese, one string a paragraph (plain text, not markup)."""
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
        rows = [("申请人", self.applicant_name)]
        if self.applicant_name_en:  # printed whenever it is recorded (some statements do not use it)
            rows.append(("外文姓名", self.applicant_name_en))
        rows += [("性别", self.sex), ("出生日期", zh_date(self.birth_date)), ("公民身份号码", self.id_number)]
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
