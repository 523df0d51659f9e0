"""Validation errors as a clerk reads them: every error a matter's validation can produce,
named by the field's Chinese label and said in Chinese (``message_zh``), beside the
English message pydantic or our validators give.

Our own validators carry both languages (:func:`refusal`); pydantic's built-in errors are
said in Chinese here, by their type and context (a limit, the allowed choices), never by
their English text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic_core import PydanticCustomError

# How a clerk calls each field (field names are shared between matters; nested ones are
# prefixed by their list, e.g. relatives.0.name -> 亲属（第1项）姓名).
FIELD_LABELS_ZH: dict[str, str] = {
    "applicant_name": "申请人姓名", "applicant_name_en": "申请人外文姓名", "sex": "性别", "birth_date": "出生日期",
    "id_number": "公民身份号码", "notary": "公证员姓名", "purpose": "用途", "destination": "使用地",
    "accepting_office": "受理机构", "birth_place": "出生地", "father_name": "父亲姓名", "mother_name": "母亲姓名",
    "residence": "居住地", "period_from": "居住起始日期", "period_to": "居住截止日期", "relatives": "亲属",
    "name": "姓名", "relation": "关系", "status": "婚姻状况", "spouse_name": "配偶姓名",
    "since": "结婚或离婚登记日期", "passport_number": "护照号码", "school": "学校", "level": "学历层次",
    "major": "专业", "enrolled": "入学日期", "graduated": "毕业日期", "diploma_number": "毕业证书编号",
    "institution": "学位授予单位", "degree": "学位", "discipline": "学科门类", "conferred": "学位授予日期",
    "certificate_number": "学位证书编号", "positions": "工作经历", "start": "起始日期", "end": "截止日期",
    "organisation": "工作单位", "position": "职务", "agent_name": "受托人姓名", "agent_id_number": "受托人公民身份号码",
    "scope": "授权范围", "powers": "委托事项", "disposes_real_estate": "是否处分不动产", "signed_on": "签署日期",
    "preservation_id": "保全编号", "evidence_sha256": "数字指纹", "evidence_size": "文件大小",
    "evidence_name": "文件名", "description": "证据说明", "on_behalf_of": "代表单位", "received_at": "收到时间",
    "timestamp_time": "可信时间戳时间", "file_kept": "是否保管原件", "retention_until": "保管期限",
    "valid_until": "委托期限", "text": "声明内容", "deceased_name": "被继承人姓名", "died_on": "死亡日期",
    "estate": "遗产", "heirs": "继承人", "made_on": "立遗嘱日期", "safekeeping": "是否由公证处保管",
    "corrects_number": "所更正的公证书编号", "(input)": "申请数据",
}
# A field that gives another field in Latin letters for the translation page.
COMPANION_LABELS_ZH = {"_pinyin": "拼音", "_en": "英文译文"}


def field_label_zh(field: str) -> str:
    """The Chinese label of a dotted field path: ``heirs.1.name`` -> 继承人（第2项）姓名,
    ``father_name_pinyin`` -> 父亲姓名拼音. A name no table knows is shown as it is."""
    out = []
    for part in field.split("."):
        out.append(f"（第{int(part) + 1}项）" if part.isdigit() else _label(part))
    return "".join(out)


def _label(name: str) -> str:
    if name in FIELD_LABELS_ZH:
        return FIELD_LABELS_ZH[name]
    for suffix, label in COMPANION_LABELS_ZH.items():
        base = name.removesuffix(suffix)
        if base != name and base in FIELD_LABELS_ZH:
            return FIELD_LABELS_ZH[base] + label
    return name


def refusal(en: str, zh: str, field: str | None = None, rule: str = "value_error") -> PydanticCustomError:
    """A validation error in both languages, for a validator to raise: ``zh`` follows the
    field's Chinese label (申请人姓名 + ``zh``). ``field``: the field a rule across fields
    (a model validator) is about, relative to the model that raises it."""
    context = {"detail": en, "message_zh": zh}
    if field:
        context["field"] = field
    return PydanticCustomError(rule, "{detail}", context)


def _choices(expected: str) -> str:
    return "、".join(f"“{c}”" for c in re.findall(r"'([^']*)'", expected))


# pydantic's error types, said in Chinese after the field's label; the context fills the
# braces. What is not here reads as 格式有误 (never pydantic's English).
_BUILT_IN_ZH: dict[str, str] = {
    "missing": "为必填项",
    "string_type": "应为文字",
    "string_unicode": "含有无法识别的字符，应为有效的文字",
    "string_too_short": "至少需要 {min_length} 个字符",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符合要求",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多只能有 {max_length} 项",
    "list_type": "应为列表（可填写多项）",
    "date_type": "应为日期，格式如 2026-01-31",
    "date_parsing": "不是有效的日期，格式应如 2026-01-31",
    "date_from_datetime_parsing": "不是有效的日期，格式应如 2026-01-31",
    "date_from_datetime_inexact": "应为日期，不能带有时间",
    "bool_type": "应为是或否",
    "bool_parsing": "应为是或否",
    "model_type": "格式有误，应为包含各项内容的对象",
    "model_attributes_type": "格式有误，应为包含各项内容的对象",
    "dict_type": "格式有误，应为包含各项内容的对象",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "none_required": "应为空",
}


def message_zh(error: Mapping[str, Any], field: str) -> str:
    """The Chinese message of one of pydantic's errors (``error``: an item of
    ``ValidationError.errors()``) about ``field`` (its dotted path), label first."""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if ctx.get("message_zh"):
        return field_label_zh(field) + ctx["message_zh"]
    if kind == "extra_forbidden":
        # The unknown key can only be named as the client sent it.
        parent, _, key = field.rpartition(".")
        where = f"{field_label_zh(parent)}中的" if parent else ""
        return f"{where}“{key}”不是本公证事项的栏目，请删除"
    if kind == "literal_error":
        return f"{field_label_zh(field)}只能是{_choices(str(ctx.get('expected', '')))}之一"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return f"{field_label_zh(field)}不能为空"
    template = _BUILT_IN_ZH.get(kind, "格式有误，请核对")
    return field_label_zh(field) + template.format(min_length=ctx.get("min_length", ""),
                                                   max_length=ctx.get("max_length", ""))
