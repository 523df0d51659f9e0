"""The base of every matter type: the applicant's fields, checks, and date formatting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from signing import text_safety

from .. import idnumber, translation
from ..errors import InvalidMatterData
from ..translation import NAME, Rendering, Untranslated
from .messages import field_label_zh, refusal

Name = Field(min_length=1, max_length=40)
Place = Field(min_length=1, max_length=80)
# A name in pinyin as the person's documents spell it, checked against the Chinese name.
Pinyin = Field(None, max_length=200, description="the name in pinyin, surname first, e.g. WANG Li; "
                                                 "generated when not given")


def English(max_length: int = 200):  # noqa: N802 - reads like Name and Place at a field
    """An optional field giving another field in English for the translation page."""
    return Field(None, min_length=1, max_length=max_length,
                 description="in English for the translation page; generated or looked up when not given")


class TextModel(BaseModel):
    """A model whose every string (and every string in a list) passes the character policy
    of :mod:`issuer.text_safety`: no control, invisible format, private-use, unassigned or
    surrogate characters. The error names the field and the character for a clerk.

    Code that reads back a stored record (which may predate the policy) validates with
    ``context={"stored_record": True}``, which skips it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # How fields read on the English translation page (see :mod:`issuer.translation`); a
    # field listed here may have a companion field (<field>_pinyin or <field>_en) that
    # gives its English explicitly.
    english_renderings: ClassVar[dict[str, Rendering]] = {}

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

    @field_validator("*", mode="after")
    @classmethod
    def _companion(cls, value: object, info: ValidationInfo) -> object:
        """A name's pinyin must spell the name; an English rendering must be English."""
        name = info.field_name or ""
        if value is None or (info.context and info.context.get("stored_record")):
            return value  # a stored record is read back as it was issued (pypinyin's tables may have changed)
        if name.endswith("_pinyin") and isinstance(value, str):
            chinese = info.data.get(name.removesuffix("_pinyin"))
            if isinstance(chinese, str) and not translation.pinyin_matches(chinese, value):
                raise refusal(f"'{value}' does not spell '{chinese}' in pinyin (surname first, e.g. "
                              f"{translation.name_pinyin(chinese)})",
                              f"与姓名“{chinese}”的拼音不符（应姓在前，如“{translation.name_pinyin(chinese)}”）",
                              rule="pinyin_mismatch")
        elif name.endswith("_en"):
            for i, item in enumerate(value if isinstance(value, list) else [value]):
                if isinstance(item, str) and translation.has_cjk(item):
                    where_en, where_zh = ("", "") if not isinstance(value, list) else (f"item {i + 1}: ", f"第{i + 1}项")
                    raise refusal(f"{where_en}must be in English, without Chinese characters or punctuation",
                                  f"{where_zh}应以英文填写，不能含有中文字符或中文标点", rule="not_english")
        return value

    def english(self, field: str) -> str | list[str] | None:
        """``field`` as the English translation page shows it: its companion field as given
        (``father_name_pinyin``, ``birth_place_en``), else made from the Chinese (pinyin, a
        transliterated place, a table). Raises :class:`~issuer.translation.Untranslated`
        when neither can be had: free text in Chinese needs its ``*_en``."""
        rendering = self.english_renderings[field]
        value = getattr(self, field)
        given = getattr(self, field + rendering.companion, None)
        if given is not None or value is None:
            return given
        if isinstance(value, list):
            items = [rendering.generate(v) for v in value]
            if any(v is None for v in items):
                raise Untranslated(field)
            return [v for v in items if v is not None]
        one = rendering.generate(value)
        if one is None:
            raise Untranslated(field)
        return one

    def english_text(self, field: str) -> str:
        """:meth:`english` of a field holding one value."""
        value = self.english(field)
        if not isinstance(value, str):
            raise Untranslated(field)
        return value

    def english_list(self, field: str) -> list[str]:
        """:meth:`english` of a field holding a list."""
        value = self.english(field)
        if not isinstance(value, list):
            raise Untranslated(field)
        return value

    def untranslated(self, prefix: str = "") -> list[str]:
        """Fields (dotted paths) that have no English for the translation page: free text in
        Chinese, or a value outside its table, with no ``*_en`` given."""
        missing = []
        for field in self.english_renderings:
            try:
                self.english(field)
            except Untranslated:
                missing.append(f"{prefix}{field}")
        for name in type(self).model_fields:
            value = getattr(self, name)
            for i, item in enumerate(value if isinstance(value, list) else []):
                if isinstance(item, TextModel):
                    missing += item.untranslated(f"{prefix}{name}.{i}.")
        return missing

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


def checked_id_number(value: str) -> str:
    """An ID number checked (GB 11643), for a field validator: the refusal in both languages."""
    try:
        return idnumber.validate(value)
    except idnumber.InvalidIdNumber as exc:
        raise refusal(str(exc), exc.message_zh) from None


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
    summary_zh = "；".join(e.get("message_zh") or f"{field_label_zh(e['field'])}有误" for e in errors)
    return InvalidMatterData(f"invalid input for {subject_en}: {summary}", errors, f"{subject_zh}申请数据有误：{summary_zh}")


class MatterInput(TextModel):
    """Fields every matter shares: the applicant, the notary, the purpose."""

    key: ClassVar[str]
    title_zh: ClassVar[str]
    title_en: ClassVar[str]
    # False for a matter whose data the service itself records (evidence preservation): the
    # issuing API and staff drafts refuse it.
    requested_by_staff: ClassVar[bool] = True
    english_renderings: ClassVar[dict[str, Rendering]] = {"applicant_name": NAME, "notary": NAME}

    applicant_name: str = Name
    applicant_name_en: str | None = Field(None, max_length=60, description="name in Latin letters as in the "
                                          "applicant's passport, e.g. ZHANG Ming (not checked: it may be a "
                                          "foreign name); the translation page uses it before the pinyin")
    applicant_name_pinyin: str | None = Pinyin
    sex: Literal["男", "女"]
    birth_date: dt.date
    id_number: str = Field(min_length=18, max_length=18, description="公民身份号码 (GB 11643)")
    notary: str = Field(min_length=1, max_length=40, description="公证员")
    notary_pinyin: str | None = Pinyin
    purpose: str | None = Field(None, max_length=80, description="用途, e.g. 留学")
    destination: str | None = Field(None, max_length=40, description="使用地 / 发往国家")
    accepting_office: str | None = Field(None, max_length=80, description="受理机构, when another office accepted the "
                                                                          "application (同城受理、异地出证)")

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, v: str) -> str:
        return checked_id_number(v)

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, v: dt.date) -> dt.date:
        if v > dt.date.today() or v.year < 1900:
            raise refusal("must be a real date between 1900 and today", "应为1900年至今天之间的真实日期")
        return v

    @model_validator(mode="after")
    def _id_matches_birth(self):
        if idnumber.birth_date(self.id_number) != self.birth_date:
            raise refusal("the birth date inside the ID number differs from birth_date",
                          "中的出生日期与所填出生日期不一致", field="id_number")
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
        """The applicant's name on the translation page: as in the passport when given, else in pinyin."""
        return self.applicant_name_en or self.english_text("applicant_name")

    @property
    def his_her(self) -> str:
        return "his" if self.sex == "男" else "her"

    @property
    def sex_en(self) -> str:
        return translation.SEX_EN[self.sex]

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
