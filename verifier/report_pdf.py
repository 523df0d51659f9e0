"""The verification report as a PDF signed by the verification service (验证报告), for a
court's case file: the verdict, every check, the document fingerprint and the anchor.

Much of what the report shows comes from the PDF being verified (the signer's name is
whatever the uploader put in the certificate) or from the ledger. Every cell is text, not
markup: it becomes a Paragraph only through ``text()`` in :func:`render_report`, which
escapes it (line breaks are the only tags, put there by ``markup_lines``) and shows
characters that would not print as themselves (bidi controls, zero-width characters,
characters the font lacks) as ``[U+202E]``. A signer called ``<font color="green">核验通过 PASSED</font>`` is printed
as exactly those characters in the signer cell; the verdict line is the report's own.
"""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from signing.pades import sign_pdf
from signing.pdfa import PDF_PRODUCER, make_pdfa
from signing.fonts import FONT_NAME, register_font
from signing.text_safety import font_charset, markup_lines, visible
from keys.store import OfficeSigner

from .report import CheckName, CheckStatus, Report

SERVICE_NAME = "电子公证书核验服务"
MAX_CHANGES = 20  # a report lists at most this many changes after signing per check
SIGNER_SHOWN = 48  # characters of an untrusted signer name shown in a report
VERDICT = {"PASSED": "核验通过 PASSED", "FAILED": "核验未通过 FAILED", "INDETERMINATE": "暂无结论 INDETERMINATE"}
CHECK_NAMES = {"document_integrity": "文件完整性 Document integrity", "signer_trust": "签名人可信 Signer trust",
               "timestamp": "时间戳 Timestamp", "office_binding": "公证处登记 Office binding",
               "anchor_inclusion": "区块链锚定 Ledger anchor", "status": "证书状态 Status",
               "report_issuer": "报告出具方 Report issuer"}
MAX_SHOWN = 4000  # characters of one value; a longer one (a crafted signer name) is cut, visibly


def _shown(value: object, charset: frozenset[int]) -> str:
    """A value as the report prints it: characters that would not print as themselves made
    visible, and an absurdly long value cut with a note saying so."""
    text = visible(str(value), charset)
    if len(text) > MAX_SHOWN:
        more = len(text) - MAX_SHOWN
        text = f"{text[:MAX_SHOWN]} …[另有 {more} 个字符未显示 {more} more characters not shown]"
    return text


def render_report(report: Report, font_path: Path) -> bytes:
    register_font(font_path)
    charset = font_charset(font_path)
    styles = {
        "title": ParagraphStyle("t", fontName=FONT_NAME, fontSize=18, leading=26, alignment=1),
        "body": ParagraphStyle("b", fontName=FONT_NAME, fontSize=10, leading=15, wordWrap="CJK"),
        "verdict": ParagraphStyle("v", fontName=FONT_NAME, fontSize=14, leading=20),
    }

    def text(*lines: object, style: str = "body") -> Paragraph:
        """A Paragraph of plain text (one or more lines): escaped, never markup."""
        return Paragraph(markup_lines(*(_shown(line, charset) for line in lines)), styles[style])

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title="验证报告 Verification report", author=SERVICE_NAME,
                            initialFontName=FONT_NAME, producer=PDF_PRODUCER, creator="enotary")
    facts = [["核验时间 Verified at", report.verified_at.strftime("%Y-%m-%d %H:%M:%S UTC")],
             ["文件指纹 SHA-256", report.document_sha256 or "-"]]
    if report.document_kind == "verification_report":
        facts.append(["文件类型 Document", "验证报告，不是公证书 A verification report, not a certificate"])
    if report.certificate:
        c = report.certificate
        facts += [["公证书编号 Number", c.number_masked], ["公证事项 Matter", f"{c.matter_zh} {c.matter_en}".strip()],
                  ["出证机构 Office", c.office], ["出证日期 Issue date", str(c.issue_date)]]
    if report.revocation:
        rv = report.revocation
        label = "撤销 Revoked" if rv.kind == "revoked" else "更正 Corrected"
        when = f"{rv.at:%Y-%m-%d %H:%M} UTC" if rv.at else (f"block {rv.ledger_block}" if rv.ledger_block else "-")
        facts += [[label, when], ["原因 Reason", f"{rv.reason_zh} / {rv.reason_en}"]]
    if report.signer:
        # A name nobody vouches for is the signer's own claim: cut short and marked as such,
        # so a forger's certificate name cannot write text into a report the service signs.
        trusted = any(c.name == CheckName.SIGNER_TRUST and c.status is CheckStatus.VALID for c in report.checks)
        shown = report.signer if trusted else f"（未经验证的自称 self-declared, untrusted）{report.signer[:SIGNER_SHOWN]}"
        facts.append(["签名人 Signer", shown])
    if report.office:
        facts.append(["登记公证处 Registered office", report.office])
    if report.anchor_block_time:
        facts.append(["上链时间 Anchored", f"{report.anchor_block_time:%Y-%m-%d %H:%M:%S} UTC, block {report.anchor_block_number}"])
    # What changed after signing (MODIFIED_AFTER_SIGNING) is listed under its check.
    rows = [[text(CHECK_NAMES.get(c.name, c.name)), text(c.status.value),
             text(c.message_zh, f"{c.message_en} ({c.code})",
                  *(f"· {ch.get('zh', '')} / {ch.get('en', '')}" for ch in c.details.get("changes", [])[:MAX_CHANGES]))]
            for c in report.checks]
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, "#999999"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                       ("FONTNAME", (0, 0), (-1, -1), FONT_NAME), ("FONTSIZE", (0, 0), (-1, -1), 9)])
    story = [
        text("电子公证书验证报告", "Verification report", style="title"), Spacer(1, 8 * mm),
        text(f"结论 Verdict: {VERDICT[report.indication.value]}", style="verdict"), Spacer(1, 4 * mm),
        # splitInRow: a cell taller than a page (a very long signer name) continues on the next
        Table([[text(a), text(b)] for a, b in facts], colWidths=[45 * mm, 125 * mm], style=grid, splitInRow=1),
        Spacer(1, 6 * mm),
        Table(rows, colWidths=[45 * mm, 22 * mm, 103 * mm], style=grid, splitInRow=1),
        Spacer(1, 6 * mm),
        text(f"本报告由{SERVICE_NAME}出具并加具电子签名；可用任一 PDF 阅读器核对签名。"
             "This report is issued and electronically signed by the verification service."),
    ]
    doc.build(story, onFirstPage=lambda canv, _doc: make_pdfa(canv))  # PDF/A-2b, like the certificate
    return buf.getvalue()


def signed_report(report: Report, font_path: Path, signer: OfficeSigner) -> bytes:
    return sign_pdf(render_report(report, font_path), signer, SERVICE_NAME)
