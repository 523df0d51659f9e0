"""Text from outside (matter data, a signer's name read from an uploaded PDF) on its way
into a PDF: markup escaping, the character policy, and the CJK font's coverage.

Three rules, used by the certificate (issuer/render.py), the matter models
(issuer/matters/base.py) and the verification report (verifier/report_pdf.py):

* :func:`markup` — every piece of text that becomes reportlab ``Paragraph`` markup goes
  through this function (fixed text too), so ``<font color="white">``, ``<img src=...>``,
  ``<br/>`` or ``&amp;`` print as the characters they are and are never interpreted. (The
  certificate itself uses no markup: it wraps its text and draws it with drawString.)
* :func:`policy_problem` — what a certificate refuses, whatever the font: control
  characters (Cc), invisible format characters (Cf: bidi controls such as U+202E,
  zero-width space and joiners, BOM, soft hyphen), line/paragraph separators, other
  default-ignorable (invisible) code points, private-use, unassigned and surrogate code
  points. None of them prints as what the record holds.
* :func:`font_charset` — the code points the embedded CJK font has a glyph for; anything
  else would print as an empty box (or nothing) while the record holds the character.

:func:`visible` applies the same rules to text that cannot be refused (a signer name in
a PDF being verified): such characters are shown as ``[U+202E]`` instead.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape as _xml_escape

from .errors import FontMissing

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) that are not already Cf/Cn:
# fillers and variation selectors that render as nothing.
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
                     (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
                     (0xE0000, 0xE0FFF))

# reason -> (English, Chinese) description, as a clerk reads it
REASONS: dict[str, tuple[str, str]] = {
    "control": ("a control character (line break, tab or similar)", "控制字符（换行符、制表符等）"),
    "invisible": ("an invisible formatting character (text-direction control, zero-width character or similar)",
                  "不可见的格式字符（文字方向控制符、零宽字符等）"),
    "private_use": ("a private-use character, which has no standard meaning", "私用区字符（没有标准含义）"),
    "unassigned": ("a code point that is not an assigned Unicode character", "未分配的 Unicode 码位"),
    "surrogate": ("an unpaired surrogate, which is not a valid character", "不成对的代理码位（不是有效字符）"),
}
GLYPH_MISSING = "glyph"  # reason for a character the font cannot show


def markup(text: str) -> str:
    """``text`` as reportlab Paragraph markup that prints exactly these characters."""
    return _xml_escape(str(text))


def markup_lines(*lines: str) -> str:
    """Several lines of text as one Paragraph's markup, the line breaks being the only tags."""
    return "<br/>".join(markup(line) for line in lines)


def _ignorable(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE_RANGES)


def policy_problem(ch: str) -> str | None:
    """Why a certificate may not hold ``ch`` (a key of :data:`REASONS`), or None."""
    category = unicodedata.category(ch)
    if category == "Cc":
        return "control"
    if category == "Cs":
        return "surrogate"
    if category == "Co":
        return "private_use"
    if category == "Cn":
        return "unassigned"
    if category in ("Cf", "Zl", "Zp") or _ignorable(ord(ch)):
        return "invisible"
    return None


def problems(text: str, charset: frozenset[int] | None = None) -> list[tuple[int, str, str]]:
    """(1-based position, character, reason) of every character that breaks the policy
    or, with ``charset``, that the font has no glyph for."""
    found = []
    for i, ch in enumerate(text, 1):
        reason = policy_problem(ch)
        if reason is None and charset is not None and ord(ch) not in charset:
            reason = GLYPH_MISSING
        if reason is not None:
            found.append((i, ch, reason))
    return found


def code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def describe(found: list[tuple[int, str, str]]) -> tuple[str, str]:
    """The first problem as (English message, Chinese message to follow the field's label).

    ``describe(...)[1]`` starts with 中 so that ``label + zh`` reads as one sentence, e.g.
    申请人姓名 + 中的字符“𠀀”（U+20000）无法在公证书字体中显示."""
    position, ch, reason = found[0]
    more_en = f" (and {len(found) - 1} more characters that cannot be used)" if len(found) > 1 else ""
    more_zh = f"（另有 {len(found) - 1} 处不可用的字符）" if len(found) > 1 else ""
    name = unicodedata.name(ch, "")
    if reason == GLYPH_MISSING:
        standard = unicodedata.normalize("NFKC", ch)
        if len(standard) == 1 and standard != ch:  # e.g. a CJK compatibility ideograph
            hint_en = f"; use '{standard}' ({code_point(standard)})"
            hint_zh = f"，请改用“{standard}”（{code_point(standard)}）"
        else:
            hint_en, hint_zh = "", ""
        return (f"the character '{ch}' ({code_point(ch)}{' ' + name if name else ''}) at position {position} "
                f"cannot be shown in the certificate font{hint_en}{more_en}",
                f"中的字符“{ch}”（{code_point(ch)}）无法在公证书字体中显示{hint_zh}{more_zh}")
    en, zh = REASONS[reason]
    return (f"character {position} is {en}: {code_point(ch)}{' ' + name if name else ''}; remove it{more_en}",
            f"中第{position}个字符是{zh}：{code_point(ch)}{'（' + name + '）' if name else ''}，请删除后重新提交{more_zh}")


_charset_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _load_charset(path: str, mtime_ns: int) -> frozenset[int]:
    from reportlab.pdfbase.ttfonts import TTFontFile

    # Face 0 of the collection, the face render.register_font embeds.
    face = TTFontFile(path, subfontIndex=0)
    return frozenset(cp for cp, glyph in face.charToGlyph.items() if glyph != 0 and cp <= 0xFFFF)


def font_charset(path: Path | str) -> frozenset[int]:
    """Code points the font at ``path`` (face 0) maps to a real glyph; read once, cached.

    Only the Basic Multilingual Plane: reportlab writes the subset's ToUnicode entry for a
    character above U+FFFF as five hex digits instead of a UTF-16 surrogate pair, so the
    PDF's text (search, copy, extraction by a verifier) would read another character than
    the one printed (U+2F800 丽 is read back as U+2F80 ⾀)."""
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except FileNotFoundError:
        raise FontMissing(f"CJK font not found at {p}; install Debian package fonts-wqy-zenhei or set NOTARY_CJK_FONT",
                          f"找不到中文字体 {p}") from None
    with _charset_lock:
        return _load_charset(str(p), mtime)


def visible(text: str, charset: frozenset[int] | None = None) -> str:
    """``text`` with every character that would not print as itself (see :func:`problems`)
    replaced by a visible ``[U+XXXX]``: for text that cannot be refused, such as the
    signer name in a PDF being verified."""
    def shows(ch: str) -> bool:
        return policy_problem(ch) is None and (charset is None or ord(ch) in charset)

    if all(shows(ch) for ch in text):
        return text
    return "".join(ch if shows(ch) else f"[{code_point(ch)}]" for ch in text)


def lone_surrogate_at(value: object, path: str = "") -> str | None:
    """Where in a JSON value (dotted path) a string holds an unpaired surrogate, or None.

    JSON may carry one as an escape (``"\\ud800"``); it is not a character, and a record,
    a hash or an error message holding it cannot be encoded as UTF-8."""
    if isinstance(value, str):
        return (path or "(value)") if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = (lone_surrogate_at(key, path or "(key)")
                     or lone_surrogate_at(item, f"{path}.{key}" if path else str(key)))
            if where:
                return where
    if isinstance(value, list):
        for i, item in enumerate(value):
            where = lone_surrogate_at(item, f"{path}.{i}" if path else str(i))
            if where:
                return where
    return None


def no_lone_surrogates(value: object) -> object:
    """A pydantic after-validator for request bodies: refuse (422, naming where) a value
    holding an unpaired surrogate before anything hashes, stores or echoes it."""
    where = lone_surrogate_at(value)
    if where is not None:
        from pydantic_core import PydanticCustomError

        raise PydanticCustomError("text_character", "{where}: holds an unpaired surrogate (U+D800 to U+DFFF), "
                                  "which is not a character", {"where": where})
    return value


def longest(values: Iterable[tuple[str, str]]) -> str | None:
    """The name of the longest of (name, text) pairs."""
    best = max(values, key=lambda nv: len(nv[1]), default=None)
    return best[0] if best else None
