"""The English translation page (译文) of a bilingual certificate: names in pinyin (checked
when given, generated when not), places and organisations in English, relations and other
enumerated values from tables, free text as the applicant translated it. Nothing on it is
left in Chinese but the certificate number and the office's official Chinese name."""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid

import pypdfium2 as pdfium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from records.errors import InvalidMatterData
from records.matters import EXAMPLES, MATTERS, parse_matter
from records.matters.civil import Relative
from records.check_codes import check_code, verify_url
from issuer.render import CertificatePage, check_printable, render_certificate
from records.translation import SURNAME_READINGS, has_cjk, name_pinyin, organisation_en, pinyin_matches, place_en, readings
from notary.settings import DEFAULT_FONT

FONT = DEFAULT_FONT
NUMBER = "(2026)沪东证字第000123号"
CORRECTED = "(2026)沪东证字第000012号"
OFFICE = "上海市东方公证处"


def _page(matter, corrects_number: str | None = None, office_name_en: str | None = None) -> CertificatePage:
    cid = uuid.uuid4()
    code = check_code(b"k" * 32, cid)
    return CertificatePage(cid, NUMBER, OFFICE, dt.date(2026, 11, 23), matter,
                           verify_url("http://127.0.0.1:8000", cid, code), code, bilingual=True,
                           corrects_number=corrects_number, office_name_en=office_name_en)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _english_text(pdf: bytes) -> str:
    """The text of the translation's pages (from the page titled NOTARIAL CERTIFICATE on)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()
    first = next(i for i, text in enumerate(pages) if "NOTARIAL CERTIFICATE" in text)
    return "\n".join(pages[first:])


def _english(key: str, data: dict, **page) -> str:
    return _english_text(render_certificate(_page(parse_matter(key, data), **page), FONT))


def _variants(key: str) -> list[dict]:
    """The example, and the example with every optional field filled and every choice taken."""
    full = copy.deepcopy(EXAMPLES[key])
    full.update(purpose="留学", destination="美国", accepting_office="上海市徐汇公证处")
    variants = [EXAMPLES[key], full]
    if key == "marital-status":
        variants += [{**full, "status": "已婚", "spouse_name": "王强", "since": "2020-05-20"},
                     {**full, "status": "离婚", "spouse_name": "欧阳娜娜", "since": "2021-06-01"}]
    if key == "kinship":
        relations = Relative.model_fields["relation"].annotation.__args__
        variants.append({**full, "relatives": [{"name": f"刘{c}", "relation": r} for c, r in zip("一二三四五六七八九十冬", relations)]})
    if key == "education":
        variants += [{**full, "major": "法学", "level": level} for level in ("高中", "专科", "本科", "研究生")]
    if key == "degree":
        variants += [{**full, "degree": d, "discipline": "法学"} for d in ("学士", "硕士", "博士")]
    if key == "nationality":
        variants.append({**full, "passport_number": "E12345678"})
    if key == "power-of-attorney":
        variants.append({**full, "scope": "全权委托", "valid_until": "2027-11-20"})
    if key == "will":
        variants.append({**full, "safekeeping": False})
    return variants


@pytest.mark.parametrize("key", sorted(MATTERS))
def test_translation_page_carries_no_chinese_but_the_number_and_the_office(key):
    for i, data in enumerate(_variants(key)):
        corrects = CORRECTED if i == 1 else None
        text = _english(key, data, corrects_number=corrects)
        assert "This translation conforms to the Chinese original." in text
        assert "Notary: WANG Li" in text and f"Shanghai Dongfang Notary Public Office ({OFFICE})" in text
        rest = _norm(text)
        # The law keeps these as they are: the numbers, and the office's name beside its English.
        for allowed in (NUMBER, CORRECTED, OFFICE):
            rest = rest.replace(_norm(allowed), "")
        assert not has_cjk(rest), (key, data, [c for c in rest if has_cjk(c)])


def test_the_particulars_read_in_english():
    birth = _norm(_english("birth", {**EXAMPLES["birth"], "applicant_name_en": None}))
    for expected in ("ZHANGMing(male", "borninHuangpuDistrict,Shanghai", "ThefatherofZHANGMingisZHANGJianguo;",
                     "themotherisLIXiuying."):
        assert expected in birth
    kinship = _norm(_english("kinship", EXAMPLES["kinship"]))
    assert "LIUDehuaisthefatherofLIUYang" in kinship and "WANGFangisthemotherofLIUYang" in kinship
    married = _norm(_english("marital-status", {**EXAMPLES["marital-status"], "status": "已婚", "spouse_name": "欧阳娜娜",
                                                "since": "2020-05-20"}))
    assert "registeredamarriagewithOUYANGNanaonMay20,2020" in married
    assert "inPudongNewArea,Shanghaifrom" in _norm(_english("no-criminal-record", EXAMPLES["no-criminal-record"]))
    education = _norm(_english("education", EXAMPLES["education"]))
    assert "studiedatFudanUniversityatundergraduatelevelmajoringinComputerScienceandTechnology" in education
    assert "degreeofBachelorofEngineeringbyFudanUniversity" in _norm(_english("degree", EXAMPLES["degree"]))
    experience = _norm(_english("experience", EXAMPLES["experience"]))
    assert "Engineer,ShanghaiMouTechnologyCo.,Ltd." in experience and "Seniormanager,ShanghaiMouBank." in experience
    inheritance = _norm(_english("inheritance", EXAMPLES["inheritance"]))
    assert "ThedecedentHUANGJianhuadied" in inheritance and "HUANGLi(daughter),LINXiu(spouse)." in inheritance
    poa = _norm(_english("power-of-attorney", EXAMPLES["power-of-attorney"]))
    assert "principalZHENGGuoqiang" in poa and "authoritytoZHENGXiaohong" in poa


def test_what_is_given_in_english_is_printed_as_given():
    data = {**EXAMPLES["birth"], "applicant_name_en": None, "applicant_name_pinyin": "Zhang Ming",
            "father_name_pinyin": "zhang jian-guo", "birth_place_en": "Huangpu, Shanghai", "notary_pinyin": "Wang Li"}
    text = _english("birth", data, office_name_en="Shanghai Oriental Notary Public Office")
    for expected in ("Zhang Ming (male", "born in Huangpu, Shanghai", "father of Zhang Ming is zhang jian-guo",
                     "Notary: Wang Li", f"Shanghai Oriental Notary Public Office ({OFFICE})"):
        assert expected in text
    # The passport's spelling goes before the pinyin (it is what a foreign authority matches).
    assert "ZHANG Ming (male" in _english("birth", {**data, "applicant_name_en": "ZHANG Ming"})
    school = {**EXAMPLES["education"], "school_en": "Fudan University (Shanghai)", "major": "量子信息",
              "major_en": "Quantum Information"}
    assert "Fudan University (Shanghai)" in _english("education", school)
    assert "Quantum Information" in _english("education", school)


# -- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, pinyin", [
    ("王丽", "WANG Li"), ("张建国", "ZHANG Jianguo"), ("欧阳娜娜", "OUYANG Nana"), ("司马光", "SIMA Guang"),
    ("单雄信", "SHAN Xiongxin"), ("曾国藩", "ZENG Guofan"), ("吕绿", "LYU Lyu"), ("区小明", "OU Xiaoming"),
    ("长孙无忌", "ZHANGSUN Wuji"), ("买买提·艾力", "Maimaiti Aili"), ("John Smith", "John Smith"), ("李", "LI"),
])
def test_names_in_pinyin_as_a_passport_writes_them(name, pinyin):
    assert name_pinyin(name) == pinyin
    assert pinyin_matches(name, pinyin)


@pytest.mark.parametrize("name, spellings", [
    ("王丽", ["WANG Li", "Wang Li", "wangli", "WANGLI", "Wáng Lì", "wang-li"]),
    ("曾国藩", ["ZENG Guofan", "Ceng Guofan"]),  # 曾: zeng or ceng
    ("单雄信", ["SHAN Xiongxin", "Dan Xiongxin", "Chan Xiongxin"]),  # 单: shan, dan, chan
    ("乐乐", ["YUE Le", "LE Yue", "Le Le"]),  # 乐: le or yue
    ("吕绿", ["LYU Lyu", "LV LV", "Lu Lu", "Lü Lü", "Lǚ Lǜ", "LYU Lu"]),  # ü as yu, v or u; 绿 also lu
    ("长孙无忌", ["ZHANGSUN Wuji", "Changsun Wuji", "Zhang Sunwuji"]),
    ("西安", ["Xi'an", "XI An", "xian"]),
])
def test_any_reading_of_a_heteronym_is_accepted(name, spellings):
    for spelling in spellings:
        assert pinyin_matches(name, spelling), spelling


@pytest.mark.parametrize("name, spelling", [("王丽", "LI Wang"), ("王丽", "WANG"), ("王丽", "WANG Lili"),
                                            ("王丽", "WONG Lai"), ("王丽", "王丽"), ("曾国藩", "Zang Guofan")])
def test_a_spelling_of_another_name_is_not(name, spelling):
    assert not pinyin_matches(name, spelling)


def test_every_surname_reading_is_a_reading_of_the_surname():
    for surname, reading in SURNAME_READINGS.items():
        assert all(len(readings(ch)) >= 1 for ch in surname)
        assert pinyin_matches(surname, reading), surname


_COMMON_HAN = [chr(c) for c in range(0x4E00, 0x9FA6) if readings(chr(c)) != (chr(c),)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(_COMMON_HAN), min_size=1, max_size=6))
def test_a_generated_name_spells_the_name_and_is_latin(name):
    pinyin = name_pinyin(name)
    assert pinyin_matches(name, pinyin), pinyin
    assert not has_cjk(pinyin) and pinyin == pinyin.strip()
    surname = pinyin.split(" ")[0]
    assert surname.isupper()


def test_a_pinyin_that_does_not_spell_the_name_is_refused_naming_the_field():
    cases = [
        ("birth", {"father_name_pinyin": "LI Jianguo"}, "father_name_pinyin"),
        ("birth", {"applicant_name_pinyin": "Ming Zhang"}, "applicant_name_pinyin"),  # surname first
        ("birth", {"notary_pinyin": "WANG Fang"}, "notary_pinyin"),
        ("kinship", {"relatives": [{"name": "刘德华", "name_pinyin": "LAU Tak-wah", "relation": "父亲"}]},
         "relatives.0.name_pinyin"),
        ("inheritance", {"deceased_name_pinyin": "黄建华"}, "deceased_name_pinyin"),
        ("power-of-attorney", {"agent_name_pinyin": "ZHENG Xiaohua"}, "agent_name_pinyin"),
        ("marital-status", {"status": "已婚", "spouse_name": "王强", "since": "2020-05-20", "spouse_name_pinyin": "WANG Qian"},
         "spouse_name_pinyin"),
    ]
    for key, change, field in cases:
        with pytest.raises(InvalidMatterData) as exc:
            parse_matter(key, {**EXAMPLES[key], **change})
        (error,) = exc.value.errors
        assert exc.value.http_status == 422
        assert error["field"] == field and error["rule"] == "pinyin_mismatch"
        assert "does not spell" in error["message"] and "拼音不符" in error["message_zh"]
    # Accepted as the person writes it, heteronyms included.
    accepted = parse_matter("birth", {**EXAMPLES["birth"], "father_name": "曾乐", "father_name_pinyin": "Ceng Yue"})
    assert accepted.english("father_name") == "Ceng Yue"


# -- places and organisations -------------------------------------------------------------


@pytest.mark.parametrize("place, english", [
    ("上海市徐汇区", "Xuhui District, Shanghai"),
    ("北京市朝阳区", "Chaoyang District, Beijing"),
    ("浙江省杭州市西湖区", "Xihu District, Hangzhou City, Zhejiang Province"),
    ("上海市浦东新区", "Pudong New Area, Shanghai"),
    ("上海市长宁区", "Changning District, Shanghai"),
    ("陕西省西安市雁塔区", "Yanta District, Xi'an City, Shaanxi Province"),
    ("江苏省徐州市沛县大屯镇", "Datun Town, Pei County, Xuzhou City, Jiangsu Province"),
    ("广东省深圳市南山区粤海街道", "Yuehai Subdistrict, Nanshan District, Shenzhen City, Guangdong Province"),
    ("新疆维吾尔自治区乌鲁木齐市", "Wulumuqi City, Xinjiang Uygur Autonomous Region"),
    ("云南省德宏傣族景颇族自治州", "Dehong Dai and Jingpo Autonomous Prefecture, Yunnan Province"),
    ("吉林省延边朝鲜族自治州", "Yanbian Korean Autonomous Prefecture, Jilin Province"),
    ("湖北省恩施土家族苗族自治州", "Enshi Tujia and Miao Autonomous Prefecture, Hubei Province"),
    ("云南省临沧市双江拉祜族佤族布朗族傣族自治县",
     "Shuangjiang Lahu, Va, Blang and Dai Autonomous County, Lincang City, Yunnan Province"),
    ("吉林省吉林市", "Jilin City, Jilin Province"),
    ("山东省济南市市中区", "Shizhong District, Jinan City, Shandong Province"),
    ("浙江省湖州市新市镇", "Xinshi Town, Huzhou City, Zhejiang Province"),
    ("上海市徐汇区漕溪北路88号", "No. 88, Caoxi North Road, Xuhui District, Shanghai"),
    ("香港特别行政区", "Hong Kong Special Administrative Region"),
    ("New York", "New York"),
])
def test_places_smallest_unit_first(place, english):
    assert place_en(place) == english


@pytest.mark.parametrize("name, english", [
    ("复旦大学", "Fudan University"), ("上海市东方公证处", "Shanghai Dongfang Notary Public Office"),
    ("上海某科技有限公司", "Shanghai Mou Technology Co., Ltd."), ("杭州市第一中学", "Hangzhou No. 1 Middle School"),
    ("中国工商银行上海市分行", "China Industrial and Commercial Bank Shanghai Branch"),
])
def test_organisations(name, english):
    assert organisation_en(name) == english


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(_COMMON_HAN[:3000] + list("省市区县镇乡街道路号自治州旗盟村")), max_size=40))
def test_any_place_or_organisation_comes_out_latin(text):
    for english in (place_en(text), organisation_en(text)):
        assert not has_cjk(english), english


# -- what has no English ----------------------------------------------------------------------


@pytest.mark.parametrize("key, change, field, companion", [
    ("declaration", {"text_en": None}, "text", "text_en"),
    ("inheritance", {"estate_en": None}, "estate", "estate_en"),
    ("power-of-attorney", {"powers_en": None}, "powers", "powers_en"),
    ("inheritance", {"heirs": [{"name": "黄丽", "relation": "堂妹"}]}, "heirs.0.relation", "heirs.0.relation_en"),
    ("education", {"major": "量子信息"}, "major", "major_en"),
    ("degree", {"discipline": "理工"}, "discipline", "discipline_en"),
    ("experience", {"positions": [{"start": "2008-07-01", "organisation": "某公司", "position": "首席布道师"}]},
     "positions.0.position", "positions.0.position_en"),
])
def test_chinese_with_no_english_is_refused_for_a_bilingual_certificate(key, change, field, companion):
    matter = parse_matter(key, {**EXAMPLES[key], **change})
    check_printable(matter, FONT)  # the Chinese certificate alone is fine
    with pytest.raises(InvalidMatterData) as exc:
        check_printable(matter, FONT, bilingual=True)
    (error,) = exc.value.errors
    assert exc.value.http_status == 422 and error["field"] == field and error["rule"] == "translation_missing"
    assert companion in error["message"] and "英文译文" in error["message_zh"]
    # Given in English, it prints.
    fixed = copy.deepcopy({**EXAMPLES[key], **change})
    target = fixed
    *parents, last = companion.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = ["In English"] if last == "powers_en" else "In English"
    assert "In English" in _english(key, fixed)


def test_chinese_in_a_value_printed_as_it_is_is_refused():
    matter = parse_matter("education", {**EXAMPLES["education"], "diploma_number": "沪字1024612015"})
    with pytest.raises(InvalidMatterData) as exc:
        check_printable(matter, FONT, bilingual=True)
    assert [e["field"] for e in exc.value.errors] == ["diploma_number"]


def test_english_fields_take_no_chinese():
    for key, change, field in [("birth", {"birth_place_en": "上海"}, "birth_place_en"),
                               ("birth", {"applicant_name_en": "ZHANG Ming 张明"}, "applicant_name_en"),
                               ("declaration", {"text_en": "I declare（声明）"}, "text_en"),
                               ("power-of-attorney", {"powers_en": ["To let the house", "出租"]}, "powers_en")]:
        with pytest.raises(InvalidMatterData) as exc:
            parse_matter(key, {**EXAMPLES[key], **change})
        (error,) = exc.value.errors
        assert error["field"] == field and error["rule"] == "not_english" and "英文" in error["message_zh"]
    with pytest.raises(InvalidMatterData) as exc:  # one English power for each power
        parse_matter("power-of-attorney", {**EXAMPLES["power-of-attorney"], "powers_en": ["one", "two"]})
    assert [e["field"] for e in exc.value.errors] == ["powers_en"]
