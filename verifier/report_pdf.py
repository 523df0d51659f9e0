"""The verification report as a PDF signed by the verification service (验证报告), for a
court's case file: the verdict, every check, the document fingerprint and the anchor."""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from issuer.pades import sign_pdf
from issuer.render import FONT_NAME, register_font
from keys.store import OfficeSigner

from .report import Report

SERVICE_NAME = "电子公证书核验服务"
VERDICT = {"PASSED": "核验通过 PASSED", "FAILED": "核验未通过 FAILED", "INDETERMINATE": "暂无结论 INDETERMINATE"}
CHECK_NAMES = {"document_integrity": "文件完整性 Document integrity", "signer_trust": "签名人可信 Signer trust",
               "timestamp": "时间戳 Timestamp", "office_binding": "公证处登记 Office binding",
               "anchor_inclusion": "区块链锚定 Ledger anchor", "status": "证书状态 Status"}


def render_report(report: Report, font_path: Path) -> bytes:
    register_font(font_path)
    styles = {
        "title": ParagraphStyle("t", fontName=FONT_NAME, fontSize=18, leading=26, alignment=1),
        "body": ParagraphStyle("b", fontName=FONT_NAME, fontSize=10, leading=15, wordWrap="CJK"),
        "verdict": ParagraphStyle("v", fontName=FONT_NAME, fontSize=14, leading=20),
    }
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title="验证报告 Verification report", author=SERVICE_NAME)
    body = styles["body"]
    facts = [["核验时间 Verified at", report.verified_at.strftime("%Y-%m-%d %H:%M:%S UTC")],
             ["文件指纹 SHA-256", report.document_sha256 or "-"]]
    if report.certificate:
        c = report.certificate
        facts += [["公证书编号 Number", c.number_masked], ["公证事项 Matter", c.matter_zh],
                  ["出证机构 Office", c.office], ["出证日期 Issue date", str(c.issue_date)]]
    if report.signer:
        facts.append(["签名人 Signer", report.signer])
    if report.anchor_block_time:
        facts.append(["上链时间 Anchored", f"{report.anchor_block_time:%Y-%m-%d %H:%M:%S} UTC, block {report.anchor_block_number}"])
    rows = [[Paragraph(CHECK_NAMES.get(c.name, c.name), body), Paragraph(c.status.value, body),
             Paragraph(f"{c.message_zh}<br/>{c.message_en} ({c.code})", body)] for c in report.checks]
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, "#999999"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                       ("FONTNAME", (0, 0), (-1, -1), FONT_NAME), ("FONTSIZE", (0, 0), (-1, -1), 9)])
    story = [
        Paragraph("电子公证书验证报告<br/>Verification report", styles["title"]), Spacer(1, 8 * mm),
        Paragraph(f"结论 Verdict: {VERDICT[report.indication.value]}", styles["verdict"]), Spacer(1, 4 * mm),
        Table([[Paragraph(a, body), Paragraph(b, body)] for a, b in facts], colWidths=[45 * mm, 125 * mm], style=grid),
        Spacer(1, 6 * mm),
        Table(rows, colWidths=[45 * mm, 22 * mm, 103 * mm], style=grid),
        Spacer(1, 6 * mm),
        Paragraph(f"本报告由{SERVICE_NAME}出具并加具电子签名；可用任一 PDF 阅读器核对签名。"
                  "This report is issued and electronically signed by the verification service.", body),
    ]
    doc.build(story)
    return buf.getvalue()


def signed_report(report: Report, font_path: Path, signer: OfficeSigner) -> bytes:
    return sign_pdf(render_report(report, font_path), signer, SERVICE_NAME)
