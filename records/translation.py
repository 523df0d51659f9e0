"""What the English translation page (译文) of a bilingual certificate says for Chinese
values: names in pinyin, place and organisation names transliterated with their generic
parts translated, and tables for the enumerated values the matters hold.

Everything here is deterministic (the same Chinese gives the same English, so a
certificate renders the same way twice) and total: any string gives an answer without
raising, since a matter's text may be anything the character policy lets through.
pypinyin is imported on first use: the verifier imports the matter models but never
renders a translation.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# -- what counts as Chinese on an English page ------------------------------------------

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
_HAN_RUN = re.compile(f"[{_HAN}]+")
# Han, kana, hangul, bopomofo, CJK symbols and punctuation, full-width forms: script a
# reader of the English page cannot be assumed to read.
_CJK = re.compile(f"[{_HAN}\u2e80-\u2fdf\u3000-\u33ff\ua960-\ua97f\uac00-\ud7ff\ufe30-\ufe4f\uff00-\uffef\u1100-\u11ff]")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a Chinese (or other East Asian) character or punctuation mark."""
    return _CJK.search(text) is not None


# Chinese punctuation inside a transliterated value, as an English page writes it.
_PUNCTUATION = str.maketrans({"，": ", ", "、": ", ", "。": ". ", "；": "; ", "：": ": ", "（": " (", "）": ") ",
                              "《": "\u201c", "》": "\u201d", "【": "[", "】": "]", "　": " ", "·": " ", "•": " ",
                              "・": " ", "‧": " ", "—": "-", "～": "-"})


def _latin(text: str) -> str:
    """Non-Han text as an English page shows it: full-width forms and Chinese punctuation
    made Latin, runs of spaces one space."""
    text = unicodedata.normalize("NFKC", text.translate(_PUNCTUATION))
    return re.sub(r"\s+", " ", text)


# -- pinyin -------------------------------------------------------------------------------


@functools.cache
def _pypinyin():
    import pypinyin

    return pypinyin


def _syllables(han: str) -> list[str]:
    """One toneless syllable per character of a run of Han characters, read in context
    (pypinyin's phrase table picks 重庆 chong-qing, 银行 yin-hang); ü as v."""
    p = _pypinyin()
    out = p.lazy_pinyin(han, style=p.Style.NORMAL, errors=lambda chars: list(chars))
    return out if len(out) == len(han) else list(han)  # never mis-aligned, even if pypinyin changes


@functools.cache
def readings(ch: str) -> tuple[str, ...]:
    """Every toneless reading of a Han character (heteronyms: 曾 zeng and ceng), ü as v."""
    p = _pypinyin()
    found = p.pinyin(ch, style=p.Style.NORMAL, heteronym=True, errors=lambda chars: [chars])[0]
    return tuple(dict.fromkeys(r for r in found if r.isascii() and r.isalpha())) or (ch,)


def _words(text: str, *, passport: bool, read: Callable[[str], list[str]] = _syllables) -> list[str]:
    """``text`` as words: each run of Han characters one word of joined syllables (the
    first letter capitalised), other text as it is (made Latin).

    ``passport``: ü as YU and no apostrophes (the style of the PRC passport); else ü and
    an apostrophe before a syllable that starts with a, o or e (Xi'an, Lu'an, GB/T 16159)."""
    parts: list[str] = []
    pos = 0
    for m in _HAN_RUN.finditer(text):
        parts.append(_latin(text[pos:m.start()]))
        syllables = [_u(s, passport) for s in read(m.group())]
        word = ""
        for s in syllables:
            if word and not passport and s[:1] in "aoe":
                word += "'"
            word += s
        parts.append(" " + word[:1].upper() + word[1:] + " ")
        pos = m.end()
    parts.append(_latin(text[pos:]))
    return "".join(parts).split()


def _u(syllable: str, passport: bool) -> str:
    return syllable.replace("v", "yu" if passport else "ü") if _is_syllable(syllable) else syllable


def _is_syllable(s: str) -> bool:
    return s.isascii() and s.isalpha() and s.islower()


# -- personal names -----------------------------------------------------------------------

# Two-character surnames (复姓): the rest of the name is the given name.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 夏侯 轩辕 令狐 端木 独孤 南宫 西门 澹台 公冶 宗政 "
    "濮阳 淳于 单于 太叔 申屠 钟离 闻人 赫连 呼延 万俟 百里 东郭 左丘 第五 羊舌 微生 梁丘 拓跋 公羊 司寇 亓官 段干".split())

# Surnames read otherwise than the character's most common reading (单 as a surname is
# Shan, not Dan). Every reading here is one of the character's readings in pypinyin.
SURNAME_READINGS: dict[str, str] = {
    "单": "shan", "曾": "zeng", "解": "xie", "区": "ou", "仇": "qiu", "朴": "piao", "查": "zha", "盖": "ge",
    "乐": "yue", "缪": "miao", "翟": "zhai", "员": "yun", "种": "chong", "召": "shao", "宓": "fu", "尉": "wei",
    "长孙": "zhangsun", "尉迟": "yuchi", "万俟": "moqi", "单于": "chanyu", "澹台": "tantai", "令狐": "linghu",
    "柏": "bai", "薄": "bo", "藏": "zang", "重": "chong", "沈": "shen", "任": "ren", "华": "hua", "纪": "ji",
    "燕": "yan", "相": "xiang", "那": "na", "过": "guo", "车": "che", "都": "du", "覃": "qin", "秘": "bi",
    "折": "she", "瞿": "qu", "郇": "xun", "冼": "xian", "洗": "xian", "繁": "po", "能": "nai", "乜": "nie",
}

_NAME_DOTS = re.compile(r"\s*[·•・‧．.]\s*")


def name_pinyin(name: str) -> str:
    """A person's name in pinyin, surname first, as a PRC passport writes it: the surname
    in capitals, the given name as one capitalised word (王丽 -> WANG Li, 欧阳娜娜 ->
    OUYANG Nana, 吕绿 -> LYU Lyu). A name in parts (an ethnic-minority name such as
    买买提·艾力) is a word a part, a name with Latin letters in it a word a run; a name
    without Han characters is kept."""
    name = name.strip()
    if not _HAN_RUN.search(name):
        return _latin(name).strip()
    parts = [p for p in _NAME_DOTS.split(name) if p]
    compact = re.sub(r"\s+", "", name)
    if len(parts) > 1 or not _HAN_RUN.fullmatch(compact):
        return " ".join(w for p in parts for w in _words(p, passport=True))
    surname, given = _split_surname(compact)
    family = _u(SURNAME_READINGS.get(surname) or "".join(_syllables(surname)), True).upper()
    rest = "".join(_u(s, True) for s in _syllables(given))
    return f"{family} {rest[:1].upper()}{rest[1:]}".strip()


def _split_surname(name: str) -> tuple[str, str]:
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


_IGNORED_IN_PINYIN = re.compile(r"[\s·•・‧．.\-'’‘`]+")


def _pinyin_key(text: str) -> str:
    """``text`` compared as pinyin: lower case, no tone marks (ǚ -> u), no spaces, hyphens,
    apostrophes or dots."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _IGNORED_IN_PINYIN.sub("", plain).lower()


def _reading_pattern(reading: str) -> str:
    # ü is written v, u or yu (passports since 2012: LYU); all three are accepted.
    return "(?:v|u|yu)".join(re.escape(part) for part in reading.split("v"))


def pinyin_matches(name: str, given: str) -> bool:
    """Whether ``given`` spells the Chinese ``name`` in pinyin, surname first: any reading
    of each character (heteronyms), in any case, with or without spaces, hyphens,
    apostrophes or tone marks, ü as u, v or yu. WANG Li, Wang Li and wangli all spell 王丽;
    LI Wang does not."""
    pattern = []
    for ch in _IGNORED_IN_PINYIN.sub("", name.strip()):
        if _HAN_RUN.fullmatch(ch):
            pattern.append("(?:" + "|".join(_reading_pattern(r) for r in readings(ch)) + ")")
        else:
            pattern.append(re.escape(_pinyin_key(_latin(ch)).replace(" ", "")))
    return re.fullmatch("".join(pattern), _pinyin_key(given)) is not None


# -- places -------------------------------------------------------------------------------

# Provincial-level divisions: (full name, short name, English). The four municipalities
# are named alone (Shanghai), as the State Council's English usage does.
PROVINCES: tuple[tuple[str, str, str], ...] = (
    ("北京市", "北京", "Beijing"), ("天津市", "天津", "Tianjin"), ("上海市", "上海", "Shanghai"),
    ("重庆市", "重庆", "Chongqing"), ("河北省", "河北", "Hebei Province"), ("山西省", "山西", "Shanxi Province"),
    ("辽宁省", "辽宁", "Liaoning Province"), ("吉林省", "吉林", "Jilin Province"),
    ("黑龙江省", "黑龙江", "Heilongjiang Province"), ("江苏省", "江苏", "Jiangsu Province"),
    ("浙江省", "浙江", "Zhejiang Province"), ("安徽省", "安徽", "Anhui Province"), ("福建省", "福建", "Fujian Province"),
    ("江西省", "江西", "Jiangxi Province"), ("山东省", "山东", "Shandong Province"), ("河南省", "河南", "Henan Province"),
    ("湖北省", "湖北", "Hubei Province"), ("湖南省", "湖南", "Hunan Province"), ("广东省", "广东", "Guangdong Province"),
    ("海南省", "海南", "Hainan Province"), ("四川省", "四川", "Sichuan Province"), ("贵州省", "贵州", "Guizhou Province"),
    ("云南省", "云南", "Yunnan Province"), ("陕西省", "陕西", "Shaanxi Province"), ("甘肃省", "甘肃", "Gansu Province"),
    ("青海省", "青海", "Qinghai Province"), ("台湾省", "台湾", "Taiwan Province"),
    ("内蒙古自治区", "内蒙古", "Inner Mongolia Autonomous Region"),
    ("广西壮族自治区", "广西", "Guangxi Zhuang Autonomous Region"), ("西藏自治区", "西藏", "Xizang Autonomous Region"),
    ("宁夏回族自治区", "宁夏", "Ningxia Hui Autonomous Region"),
    ("新疆维吾尔自治区", "新疆", "Xinjiang Uygur Autonomous Region"),
    ("香港特别行政区", "香港", "Hong Kong Special Administrative Region"),
    ("澳门特别行政区", "澳门", "Macao Special Administrative Region"),
)

# The generic part of a place name below the province, and its English; "No." goes before
# the name (88号 -> No. 88), the others after it (徐汇区 -> Xuhui District).
PLACE_SUFFIXES: dict[str, str] = {
    "特别行政区": "Special Administrative Region", "自治区": "Autonomous Region", "自治州": "Autonomous Prefecture",
    "自治县": "Autonomous County", "自治旗": "Autonomous Banner", "民族乡": "Ethnic Township",
    "经济技术开发区": "Economic and Technological Development Zone", "开发区": "Development Zone",
    "街道": "Subdistrict", "新区": "New Area", "林区": "Forest District", "地区": "Prefecture",
    "社区": "Community", "省": "Province", "市": "City", "区": "District", "县": "County", "旗": "Banner",
    "盟": "League", "镇": "Town", "乡": "Township", "村": "Village", "东路": "East Road", "西路": "West Road",
    "南路": "South Road", "北路": "North Road", "中路": "Middle Road", "大道": "Avenue", "大街": "Street",
    "路": "Road", "街": "Street", "巷": "Lane", "弄": "Lane", "号": "No.",
}
_SUFFIX_CHARS = frozenset("省市区县镇乡")

# Place names whose reading pypinyin's everyday phrases get wrong (朝阳 the morning sun is
# zhaoyang, the district Chaoyang), and first characters read one way in place names.
PLACE_READINGS: dict[str, tuple[str, ...]] = {
    "朝阳": ("chao", "yang"), "长宁": ("chang", "ning"), "长治": ("chang", "zhi"), "长子": ("zhang", "zi"),
    "洪洞": ("hong", "tong"), "单": ("shan",), "大埔": ("da", "pu"), "会稽": ("kuai", "ji"), "长乐": ("chang", "le"),
}
_PLACE_FIRST_READINGS = {"长": "chang", "朝": "chao"}


# The 56 ethnic groups, as the names of autonomous areas give them in English
# (延边朝鲜族自治州 -> Yanbian Korean Autonomous Prefecture).
ETHNIC_GROUPS_EN: dict[str, str] = {
    "汉": "Han", "壮": "Zhuang", "回": "Hui", "满": "Manchu", "维吾尔": "Uygur", "苗": "Miao", "彝": "Yi",
    "土家": "Tujia", "藏": "Tibetan", "蒙古": "Mongolian", "侗": "Dong", "布依": "Bouyei", "瑶": "Yao", "白": "Bai",
    "朝鲜": "Korean", "哈尼": "Hani", "黎": "Li", "哈萨克": "Kazak", "傣": "Dai", "畲": "She", "傈僳": "Lisu",
    "东乡": "Dongxiang", "仡佬": "Gelao", "拉祜": "Lahu", "佤": "Va", "水": "Shui", "纳西": "Naxi", "羌": "Qiang",
    "土": "Tu", "仫佬": "Mulao", "锡伯": "Xibe", "柯尔克孜": "Kirgiz", "景颇": "Jingpo", "达斡尔": "Daur",
    "撒拉": "Salar", "布朗": "Blang", "毛南": "Maonan", "塔吉克": "Tajik", "普米": "Pumi", "阿昌": "Achang",
    "怒": "Nu", "鄂温克": "Ewenki", "京": "Gin", "基诺": "Jino", "德昂": "De'ang", "保安": "Bonan",
    "俄罗斯": "Russian", "裕固": "Yugur", "乌孜别克": "Uzbek", "门巴": "Monba", "鄂伦春": "Oroqen", "独龙": "Derung",
    "赫哲": "Hezhen", "高山": "Gaoshan", "珞巴": "Lhoba", "塔塔尔": "Tatar",
}


def _place_name_en(name: str) -> str:
    """A unit's name in English: transliterated, with the ethnic groups an autonomous
    area's name ends in translated (德宏傣族景颇族 -> Dehong Dai and Jingpo)."""
    groups: list[str] = []
    while name.endswith("族"):
        group = next((g for g in sorted(ETHNIC_GROUPS_EN, key=len, reverse=True)
                      if name[:-1].endswith(g) and len(name) - 1 > len(g)), None)
        if group is None:
            break
        groups.insert(0, ETHNIC_GROUPS_EN[group])
        name = name[:-1 - len(group)]
    words = " ".join(_words(name, passport=False, read=_place_syllables))
    if groups:
        words += " " + (", ".join(groups[:-1]) + " and " + groups[-1] if len(groups) > 1 else groups[0])
    return words


def _place_syllables(han: str) -> list[str]:
    if han in PLACE_READINGS:
        return list(PLACE_READINGS[han])
    syllables = _syllables(han)
    if han[0] in _PLACE_FIRST_READINGS:
        syllables[0] = _PLACE_FIRST_READINGS[han[0]]
    return syllables
_SUFFIXES_BY_LAST: dict[str, list[str]] = {}
for _suffix in PLACE_SUFFIXES:
    _SUFFIXES_BY_LAST.setdefault(_suffix[-1], []).append(_suffix)


def _province(text: str) -> tuple[str, str] | None:
    """The provincial-level division ``text`` starts with: (its English, the rest)."""
    for full, short, english in PROVINCES:
        if text.startswith(full):
            return english, text[len(full):]
    for full, short, english in PROVINCES:
        rest = text[len(short):]
        # 吉林市 is a city of Jilin Province, not the province: a short name followed by a
        # generic part is a unit of its own.
        if text.startswith(short) and not any(rest.startswith(s) for s in PLACE_SUFFIXES):
            return english, rest
    return None


def _units(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (name, generic part) units, the cut a reader would make: every
    unit ends in a generic part where possible; a one-character name (沛县) or a name
    holding a generic character (市中区) only when nothing better reads; what is left
    over a unit of its own with no generic part."""
    n = len(text)
    best: list[tuple[float, list[tuple[str, str]]] | None] = [None] * (n + 1)
    best[n] = (0.0, [])
    for i in range(n - 1, -1, -1):
        options = [(10.0 + (n - i), [(text[i:], "")])]  # the rest, transliterated as one name
        for j in range(i + 2, n + 1):
            after = best[j]
            if after is None:
                continue
            for suffix in _SUFFIXES_BY_LAST.get(text[j - 1], ()):
                name = text[i:j - len(suffix)]
                if not name or not text[i:j].endswith(suffix):
                    continue
                cost = 1.0 + (1.0 if len(name) == 1 else 0.0) + (3.0 if _SUFFIX_CHARS & set(name) else 0.0)
                cost += max(0, len(name) - 4)  # long names are rarer than a missed cut
                options.append((cost + after[0], [(name, suffix)] + after[1]))
        best[i] = min(options, key=lambda o: o[0])
    first = best[0]
    return first[1] if first else []


def place_en(place: str) -> str:
    """A Chinese place name in English, smallest unit first: 上海市徐汇区 -> Xuhui District,
    Shanghai; 浙江省杭州市西湖区 -> Xihu District, Hangzhou City, Zhejiang Province. Names
    are transliterated in pinyin, generic parts (省 市 区 县 镇 乡 街道 自治区 ...) translated."""
    if not _HAN_RUN.search(place):
        return _latin(place).strip()  # already in Latin letters
    text = re.sub(r"\s+", "", place.strip())
    units: list[str] = []
    found = _province(text)
    if found:
        units.append(found[0])
        text = found[1]
    for name, suffix in _units(text):
        words = _place_name_en(name)
        english = PLACE_SUFFIXES.get(suffix, "")
        if english == "No.":
            units.append(f"No. {words}")
        else:
            units.append(f"{words} {english}".strip())
    return ", ".join(reversed([u for u in units if u]))


# -- organisations --------------------------------------------------------------------------

# Generic words in the names of schools, companies, offices; the rest of a name is
# transliterated as a proper name, in the Chinese order (复旦大学 -> Fudan University).
ORGANISATION_WORDS: dict[str, str] = {
    "股份有限公司": "Co., Ltd.", "有限责任公司": "Co., Ltd.", "有限公司": "Co., Ltd.", "分公司": "Branch",
    "集团": "Group", "公司": "Company", "总行": "Head Office", "分行": "Branch", "支行": "Sub-branch",
    "银行": "Bank", "信息技术": "Information Technology", "科技": "Technology", "技术": "Technology",
    "网络": "Network", "软件": "Software", "电子": "Electronics", "贸易": "Trading", "实业": "Industrial",
    "投资": "Investment", "控股": "Holdings", "咨询": "Consulting", "管理": "Management", "建设": "Construction",
    "建筑": "Architecture", "工程": "Engineering", "医药": "Pharmaceutical", "制药": "Pharmaceutical",
    "汽车": "Automobile", "物流": "Logistics", "文化": "Culture", "传媒": "Media", "教育": "Education",
    "国际": "International", "工商": "Industrial and Commercial", "中国": "China", "中华人民共和国": "People's Republic of China", "人民": "People's",
    "职业技术学院": "Vocational and Technical College", "师范大学": "Normal University", "大学": "University",
    "学院": "College", "高级中学": "Senior High School", "初级中学": "Junior High School", "中学": "Middle School",
    "小学": "Primary School", "幼儿园": "Kindergarten", "附属": "Affiliated", "研究院": "Research Institute",
    "研究所": "Research Institute", "医院": "Hospital", "公证处": "Notary Public Office",
    "律师事务所": "Law Firm", "会计师事务所": "Accounting Firm", "事务所": "Office", "委员会": "Committee",
    "人民政府": "People's Government", "政府": "Government", "中心": "Centre", "协会": "Association",
    "基金会": "Foundation", "酒店": "Hotel", "工厂": "Factory", "华东": "East China", "华南": "South China",
    "华北": "North China", "华中": "Central China", "西南": "Southwest", "西北": "Northwest", "东北": "Northeast",
}
_GLOSSARY = sorted(ORGANISATION_WORDS, key=len, reverse=True)  # the longest word that matches
_ADMINISTRATIVE_PREFIX = re.compile(f"([{_HAN}]{{2,3}}?)[市区县]")
_ORDINAL = re.compile("第([一二三四五六七八九十]{1,3})")
_CHINESE_DIGITS = "零一二三四五六七八九"


def _chinese_number(text: str) -> int:
    if "十" not in text:
        return int("".join(str(_CHINESE_DIGITS.index(c)) for c in text))
    tens, _, ones = text.partition("十")
    return (_CHINESE_DIGITS.index(tens) if tens else 1) * 10 + (_CHINESE_DIGITS.index(ones) if ones else 0)


def organisation_en(name: str) -> str:
    """A Chinese organisation's name in English: a leading province or municipality in
    English, generic words translated (大学 University, 有限公司 Co., Ltd., 公证处 Notary
    Public Office), the rest transliterated in pinyin, in the Chinese order: 上海市东方公证处
    -> Shanghai Dongfang Notary Public Office. Not the organisation's registered English
    name, which the ``*_en`` field gives when it has one."""
    if not _HAN_RUN.search(name):
        return _latin(name).strip()  # already in Latin letters
    text = re.sub(r"\s+", "", name.strip())
    words: list[str] = []
    found = _province(text)
    if found:
        words.append(found[0].removesuffix(" Province"))
        text = found[1]
    # A city or district before the name proper is named alone (杭州市第一中学 -> Hangzhou No. 1 ...).
    for _ in range(2):
        unit = _ADMINISTRATIVE_PREFIX.match(text)
        if not unit or unit.end() == len(text):
            break
        words += _words(unit.group(1), passport=False)
        text = text[unit.end():]
    run = ""  # Chinese waiting to be transliterated as one proper name
    i = 0
    while i < len(text):
        province = None if run else _province(text[i:])
        if province and province[1] != text[i:]:
            words.append(province[0].removesuffix(" Province"))
            i = len(text) - len(province[1])
            continue
        ordinal = _ORDINAL.match(text, i)
        term = next((t for t in _GLOSSARY if text.startswith(t, i)), None)
        if ordinal or term:
            words += _words(run, passport=False)
            run = ""
            if ordinal and _valid_chinese_number(ordinal.group(1)):
                words.append(f"No. {_chinese_number(ordinal.group(1))}")
                i = ordinal.end()
                continue
            if term:
                words.append(ORGANISATION_WORDS[term])
                i += len(term)
                continue
        run += text[i]
        i += 1
    words += _words(run, passport=False)
    return " ".join(words)


def _valid_chinese_number(text: str) -> bool:
    return re.fullmatch("[一二三四五六七八九]|[二三四五六七八九]?十[一二三四五六七八九]?", text) is not None


# -- tables -------------------------------------------------------------------------------

SEX_EN = {"男": "male", "女": "female"}

RELATION_EN: dict[str, str] = {
    "父亲": "father", "母亲": "mother", "配偶": "spouse", "丈夫": "husband", "妻子": "wife", "儿子": "son",
    "女儿": "daughter", "兄弟": "brother", "姐妹": "sister", "哥哥": "elder brother", "弟弟": "younger brother",
    "姐姐": "elder sister", "妹妹": "younger sister", "祖父": "paternal grandfather", "祖母": "paternal grandmother",
    "外祖父": "maternal grandfather", "外祖母": "maternal grandmother", "孙子": "grandson", "孙女": "granddaughter",
    "外孙": "grandson", "外孙子": "grandson", "外孙女": "granddaughter", "养父": "adoptive father",
    "养母": "adoptive mother", "继父": "stepfather", "继母": "stepmother", "养子": "adopted son",
    "养女": "adopted daughter", "继子": "stepson", "继女": "stepdaughter", "儿媳": "daughter-in-law",
    "女婿": "son-in-law", "公公": "father-in-law", "婆婆": "mother-in-law", "岳父": "father-in-law",
    "岳母": "mother-in-law", "侄子": "nephew", "侄女": "niece", "外甥": "nephew", "外甥女": "niece",
    "父子": "father and son", "父女": "father and daughter", "母子": "mother and son", "母女": "mother and daughter",
    "夫妻": "husband and wife",
}

MARITAL_STATUS_EN = {"未婚": "unmarried", "已婚": "married", "离婚": "divorced"}
LEVEL_EN = {"高中": "senior high school", "专科": "junior college", "本科": "undergraduate", "研究生": "postgraduate"}
DEGREE_EN = {"学士": "Bachelor", "硕士": "Master", "博士": "Doctor"}
SCOPE_EN = {"特别授权": "special", "全权委托": "general"}

# The categories of the PRC's degree catalogue (学科门类).
DISCIPLINE_EN: dict[str, str] = {
    "哲学": "Philosophy", "经济学": "Economics", "法学": "Law", "教育学": "Education", "文学": "Arts",
    "历史学": "History", "理学": "Science", "工学": "Engineering", "农学": "Agriculture", "医学": "Medicine",
    "军事学": "Military Science", "管理学": "Management", "艺术学": "Fine Arts", "交叉学科": "Interdisciplinary Studies",
}

# Majors of the undergraduate catalogue met most often; any other is given in major_en.
MAJOR_EN: dict[str, str] = {
    "计算机科学与技术": "Computer Science and Technology", "软件工程": "Software Engineering",
    "电子信息工程": "Electronic Information Engineering", "通信工程": "Communication Engineering",
    "电气工程及其自动化": "Electrical Engineering and Automation", "自动化": "Automation",
    "机械工程": "Mechanical Engineering", "机械设计制造及其自动化": "Mechanical Design, Manufacturing and Automation",
    "土木工程": "Civil Engineering", "建筑学": "Architecture", "数学与应用数学": "Mathematics and Applied Mathematics",
    "物理学": "Physics", "化学": "Chemistry", "生物科学": "Biological Sciences", "统计学": "Statistics",
    "经济学": "Economics", "金融学": "Finance", "国际经济与贸易": "International Economics and Trade",
    "会计学": "Accounting", "财务管理": "Financial Management", "工商管理": "Business Administration",
    "市场营销": "Marketing", "人力资源管理": "Human Resource Management", "行政管理": "Public Administration",
    "法学": "Law", "汉语言文学": "Chinese Language and Literature", "英语": "English", "日语": "Japanese",
    "新闻学": "Journalism", "心理学": "Psychology", "临床医学": "Clinical Medicine", "护理学": "Nursing",
    "药学": "Pharmacy", "口腔医学": "Stomatology", "教育学": "Education", "学前教育": "Preschool Education",
    "音乐学": "Musicology", "美术学": "Fine Arts", "哲学": "Philosophy", "历史学": "History",
}

POSITION_EN: dict[str, str] = {
    "职员": "staff member", "员工": "employee", "工程师": "engineer", "助理工程师": "assistant engineer",
    "高级工程师": "senior engineer", "软件工程师": "software engineer", "技术员": "technician", "经理": "manager",
    "副经理": "deputy manager", "高级经理": "senior manager", "部门经理": "department manager",
    "项目经理": "project manager", "总经理": "general manager", "副总经理": "deputy general manager",
    "总监": "director", "主管": "supervisor", "主任": "director", "副主任": "deputy director", "董事长": "chairman",
    "董事": "director", "会计": "accountant", "出纳": "cashier", "教师": "teacher", "讲师": "lecturer",
    "副教授": "associate professor", "教授": "professor", "医生": "physician", "医师": "physician",
    "护士": "nurse", "律师": "lawyer", "销售": "sales representative", "销售经理": "sales manager",
    "设计师": "designer", "研究员": "research fellow", "助理": "assistant", "秘书": "secretary",
    "行政助理": "administrative assistant", "司机": "driver", "厨师": "chef", "公务员": "civil servant",
    "科员": "clerk", "科长": "section chief", "处长": "division director", "局长": "bureau director",
}


# -- how a field reads on the translation page --------------------------------------------


@dataclass(frozen=True)
class Rendering:
    """How a matter field reads in English: ``companion`` is the suffix of the field that
    gives it explicitly (``father_name_pinyin``, ``birth_place_en``); ``generate`` makes it
    from the Chinese when that field is not given (None: it cannot, the companion is
    needed for a bilingual certificate)."""

    companion: str
    generate: Callable[[str], str | None]


def _prose(text: str) -> str | None:
    return None if has_cjk(text) else text


def term(table: Mapping[str, str]) -> Rendering:
    """A value from a table (a relation, a major); anything else is given in ``*_en``."""
    return Rendering("_en", lambda v: table.get(v) or _prose(v))


NAME = Rendering("_pinyin", name_pinyin)
PLACE = Rendering("_en", place_en)
ORGANISATION = Rendering("_en", organisation_en)
TEXT = Rendering("_en", _prose)  # free text: no machine translation; given in *_en when it holds Chinese


class Untranslated(Exception):
    """A value has no English rendering (``field``: the dotted path of the value)."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field
