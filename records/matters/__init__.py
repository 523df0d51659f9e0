"""Matter types (公证事项): the typed input each one takes and the statement it certifies,
in Chinese and in English translation.

A matter turns validated input into the paragraphs of the certificate. New matters are
added by subclassing :class:`MatterInput` and listing it in :data:`MATTERS`.
"""

from __future__ import annotations

from pydantic import ValidationError

from ..errors import MatterNotRequestable, UnknownMatter
from .base import MatterInput, en_date, invalid_fields, zh_date, zh_formal_date
from .civil import BirthInput, KinshipInput, MaritalStatusInput, NationalityInput, NoCriminalRecordInput
from .education import DegreeInput, EducationInput, ExperienceInput
from .evidence import EvidencePreservationInput
from .estate import DeclarationInput, InheritanceInput, PowerOfAttorneyInput, WillInput
from .messages import field_label_zh, message_zh

MATTERS: dict[str, type[MatterInput]] = {m.key: m for m in (
    BirthInput, KinshipInput, MaritalStatusInput, NoCriminalRecordInput, EducationInput, DegreeInput,
    PowerOfAttorneyInput, DeclarationInput, InheritanceInput, WillInput, ExperienceInput, NationalityInput,
    EvidencePreservationInput,
)}

_PERSON = {"notary": "王丽"}
EXAMPLES: dict[str, dict] = {
    "birth": {
        "applicant_name": "张明", "applicant_name_en": "ZHANG Ming", "sex": "男", "birth_date": "1990-03-07",
        "id_number": "310101199003070027", "birth_place": "上海市黄浦区",
        "father_name": "张建国", "mother_name": "李秀英", "purpose": "留学", "destination": "美国", **_PERSON,
    },
    "no-criminal-record": {
        "applicant_name": "陈静", "applicant_name_en": "CHEN Jing", "sex": "女", "birth_date": "1988-11-20",
        "id_number": "310115198811200049", "residence": "上海市浦东新区",
        "period_from": "2006-11-20", "period_to": "2026-10-31", "purpose": "工作签证", "destination": "加拿大",
        **_PERSON,
    },
    "kinship": {
        "applicant_name": "刘洋", "sex": "男", "birth_date": "1985-06-12", "id_number": "310104198506120035",
        "relatives": [{"name": "刘德华", "relation": "父亲"}, {"name": "王芳", "relation": "母亲"}],
        "purpose": "探亲", "destination": "澳大利亚", **_PERSON,
    },
    "marital-status": {
        "applicant_name": "周婷", "sex": "女", "birth_date": "1995-01-01", "id_number": "310106199501010029",
        "status": "未婚", "purpose": "结婚登记", "destination": "日本", **_PERSON,
    },
    "education": {
        "applicant_name": "吴磊", "sex": "男", "birth_date": "1993-04-22", "id_number": "310104199304220075",
        "school": "复旦大学", "level": "本科", "major": "计算机科学与技术", "enrolled": "2011-09-01",
        "graduated": "2015-07-01", "diploma_number": "102461201505001234", "destination": "英国", **_PERSON,
    },
    "degree": {
        "applicant_name": "吴磊", "sex": "男", "birth_date": "1993-04-22", "id_number": "310104199304220075",
        "institution": "复旦大学", "degree": "学士", "discipline": "工学", "conferred": "2015-07-01",
        "certificate_number": "1024642015001234", "destination": "英国", **_PERSON,
    },
    "power-of-attorney": {
        "applicant_name": "郑国强", "sex": "男", "birth_date": "1980-09-15", "id_number": "310104198009150057",
        "agent_name": "郑小红", "agent_id_number": "310101199003070027", "scope": "特别授权",
        "powers": ["代为办理上海市徐汇区某路某号房屋的出租手续"],
        "powers_en": ["To handle, on behalf of the principal, the formalities for letting the house at No. X, "
                      "X Road, Xuhui District, Shanghai"],
        "disposes_real_estate": False,
        "signed_on": "2026-11-20", **_PERSON,
    },
    "declaration": {
        "applicant_name": "黄丽", "sex": "女", "birth_date": "1978-08-08", "id_number": "31011019780808006X",
        "text": "本人自愿放弃对父亲黄某某遗产的继承权。",
        "text_en": "I voluntarily renounce my right to inherit the estate of my father, HUANG X.",
        "signed_on": "2026-11-20", **_PERSON,
    },
    "inheritance": {
        "applicant_name": "黄丽", "sex": "女", "birth_date": "1978-08-08", "id_number": "31011019780808006X",
        "deceased_name": "黄建华", "died_on": "2026-03-01", "estate": "上海市杨浦区某路某号房屋一套",
        "estate_en": "a house at No. X, X Road, Yangpu District, Shanghai",
        "heirs": [{"name": "黄丽", "relation": "女儿"}, {"name": "林秀", "relation": "配偶"}], **_PERSON,
    },
    "will": {
        "applicant_name": "赵老先生", "sex": "男", "birth_date": "1940-02-02", "id_number": "310101194002020041",
        "made_on": "2026-11-20", "safekeeping": True, **_PERSON,
    },
    "experience": {
        "applicant_name": "刘洋", "sex": "男", "birth_date": "1985-06-12", "id_number": "310104198506120035",
        "positions": [{"start": "2008-07-01", "end": "2015-06-30", "organisation": "上海某科技有限公司",
                       "position": "工程师"},
                      {"start": "2015-07-01", "organisation": "上海某银行", "position": "高级经理"}],
        "destination": "新加坡", **_PERSON,
    },
    "evidence-preservation": {
        "applicant_name": "孙律", "sex": "男", "birth_date": "1982-05-05", "id_number": "310104198205050037",
        "preservation_id": "0f6d2c1e9b8a47d5a3c2b1e0f9d8c7b6",
        "evidence_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "evidence_size": 4, "evidence_name": "聊天记录截图.png", "evidence_name_en": "chat-screenshot.png",
        "description": "微信聊天记录截图一张", "description_en": "A screenshot of a WeChat conversation",
        "on_behalf_of": "上海某科技有限公司", "on_behalf_of_en": "Shanghai X Technology Co., Ltd.",
        "received_at": "2026-11-20T02:15:00Z", "timestamp_time": "2026-11-20T02:15:01Z",
        "file_kept": True, "retention_until": "2036-11-20", **_PERSON,
    },
    "nationality": {
        "applicant_name": "周婷", "sex": "女", "birth_date": "1995-01-01", "id_number": "310106199501010029",
        "passport_number": "E12345678", "destination": "德国", **_PERSON,
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


def requestable_matter(key: str) -> type[MatterInput]:
    """The matter type for data that a person types (the issuing API and its batches,
    drafts, corrections, previews, ``notary issue``, the console's forms). A matter whose
    data the service records itself is refused (MatterNotRequestable, 422): a preservation
    certificate states that the office received a file, which only the office's receipt of
    it may say (preservation/)."""
    model = matter_type(key)
    if not model.requested_by_staff:
        raise MatterNotRequestable(
            f"a '{key}' certificate is issued only by the service itself, from what it received; "
            "it cannot be requested, drafted or corrected with typed data",
            f"“{model.title_zh}”公证书只能由系统根据收到的内容出具，不能以填写的数据申请、起草或更正")
    return model


def staff_matters() -> dict[str, type[MatterInput]]:
    """The matters that staff may draft and issue from typed data (see requestable_matter)."""
    return {key: model for key, model in MATTERS.items() if model.requested_by_staff}


def parse_matter(key: str, data: object) -> MatterInput:
    """Validate input for a matter; field errors name the field and the rule, and say it in
    English (message) and in Chinese (message_zh, after the field's Chinese label)."""
    model = matter_type(key)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        for e in exc.errors(include_url=False, include_input=False):
            ctx = e.get("ctx") or {}
            path = [str(p) for p in e["loc"]]
            if ctx.get("field"):  # a rule across fields (a model validator) names the field it is about
                path.append(ctx["field"])
            field = ".".join(path) or "(input)"
            errors.append({"field": field, "rule": e["type"], "message": e["msg"], "message_zh": message_zh(e, field)})
        raise invalid_fields(key, model.title_zh, errors) from None


__all__ = ["EXAMPLES", "MATTERS", "MatterInput", "en_date", "field_label_zh", "invalid_fields", "matter_type",
           "parse_matter", "requestable_matter", "staff_matters", "zh_date", "zh_formal_date"]
