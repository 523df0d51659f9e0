"""Issuance throughput, end to end (validate input, number, render, QR, sign, store,
enqueue), against bare pyHanko signing of the same PDF in one process, in the same run.

    .venv/bin/python -m bench.issue [seconds]
"""

from __future__ import annotations

import io
import sys
import uuid

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from bench.common import emit, percentile, rate, temp_runtime
from issuer.matters import EXAMPLES, parse_matter
from issuer.qr import check_code, verify_url
from issuer.render import CertificatePage, render_certificate
from issuer.service import issue_certificate


def main(seconds: float) -> None:
    rt = temp_runtime()
    try:
        ctx = rt.issuer_context()
        import datetime as dt

        cid = uuid.uuid4()
        page = CertificatePage(cid, "(2026)沪东证字第000001号", rt.office.name, dt.date.today(),
                               parse_matter("birth", EXAMPLES["birth"]),
                               verify_url(ctx.public_base_url, cid, check_code(ctx.qr_key, cid)), "ABCDEF")
        pdf = render_certificate(page, ctx.font_path)
        meta = signers.PdfSignatureMetadata(field_name="Sig", md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES)

        def bare_sign():
            # pyHanko as its documentation shows it (no bytes_reserved, so it signs twice),
            # at the same level: with the same timestamper for B-T.
            signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=rt.signer.signer,
                             timestamper=ctx.timestamper)

        def issue():
            issue_certificate(ctx, "birth", EXAMPLES["birth"])

        bare_rate, _ = rate(bare_sign, seconds)
        issue_rate, lat = rate(issue, seconds)
        render_rate, _ = rate(lambda: render_certificate(page, ctx.font_path), seconds / 2)
        print(f"level {rt.settings.signature_level}")
        print(f"bare pyHanko sign_pdf:      {bare_rate:7.1f} /s")
        print(f"render only:                {render_rate:7.1f} /s")
        print(f"issue end to end (1 proc):  {issue_rate:7.1f} /s   p50 {percentile(lat, 50) * 1000:.1f} ms"
              f"   p95 {percentile(lat, 95) * 1000:.1f} ms")
        print(f"ratio issue / bare:         {issue_rate / bare_rate:7.2f}")
        emit({"benchmark": "issue", "processes": 1, "bare_pyhanko_per_second": round(bare_rate, 1),
              "render_per_second": round(render_rate, 1), "issue_per_second": round(issue_rate, 1),
              "ratio_vs_bare": round(issue_rate / bare_rate, 2),
              "issue_p50_ms": round(percentile(lat, 50) * 1000, 1), "issue_p95_ms": round(percentile(lat, 95) * 1000, 1),
              "database": "sqlite", "signature": rt.settings.signature_level})
    finally:
        rt.close()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
