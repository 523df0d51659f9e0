"""Issuance throughput, end to end (validate input, number, render, QR, sign, store,
enqueue), against bare pyHanko signing of the same PDF in one process, in the same run.

    .venv/bin/python -m bench.issue [seconds]

Four figures:
- bare pyHanko: ``signers.sign_pdf`` as pyHanko's documentation shows it, with
  ``SimpleSigner.load_pkcs12`` and, for B-T, pyHanko's own in-process TSA
  (``DummyTimeStamper``) — the baseline of the issue's ratio;
- bare pyHanko with this project's signer (key parsed once, fixed signed attribute built
  once) and development TSA (its fixed token parts built once), the same as issuing uses,
  to show how much of the gain is signing and how much is parallelism;
- issuing one certificate at a time in this process (``issue_certificate``, the CLI path);
- issuing in batches of 64 through the signing pool (``issue_batch``, the bulk and
  server path), one process per core.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import time
import uuid

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import DummyTimeStamper

from bench.common import emit, percentile, rate, temp_runtime
from records.matters import EXAMPLES, parse_matter
from records.check_codes import check_code, verify_url
from issuer.render import CertificatePage, render_certificate
from issuer.service import IssueRequest, issue_batch, issue_certificate
from keys.devpki import ensure_tsa

BATCH = 64


def main(seconds: float) -> None:
    rt = temp_runtime()
    try:
        ctx = rt.issuer_context()
        cid = uuid.uuid4()
        page = CertificatePage(cid, "(2026)沪东证字第000001号", rt.office.name, dt.date.today(),
                               parse_matter("birth", EXAMPLES["birth"]),
                               verify_url(ctx.public_base_url, cid, check_code(ctx.qr_key, cid)), "ABCDEF")
        pdf = render_certificate(page, ctx.font_path)
        meta = signers.PdfSignatureMetadata(field_name="Sig", md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES)
        level = rt.settings.signature_level
        stock_signer = signers.SimpleSigner.load_pkcs12(str(rt.pki_dir / "office-signing.p12"), passphrase=rt.passphrase)
        stock_tsa = None
        if level != "B-B":
            tsa = signers.SimpleSigner.load_pkcs12(str(ensure_tsa(rt.pki_dir, rt.passphrase)), passphrase=rt.passphrase)
            stock_tsa = DummyTimeStamper(tsa_cert=tsa.signing_cert, tsa_key=tsa.signing_key)

        def bare_sign():
            # pyHanko as its documentation shows it (no bytes_reserved, so it signs twice).
            signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=stock_signer, timestamper=stock_tsa)

        def tuned_sign():
            signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=rt.signer.signer,
                             timestamper=ctx.timestamper)

        def issue():
            issue_certificate(ctx, "birth", EXAMPLES["birth"])

        bare_rate, _ = rate(bare_sign, seconds)
        tuned_rate, _ = rate(tuned_sign, seconds)
        issue_rate, lat = rate(issue, seconds)
        render_rate, _ = rate(lambda: render_certificate(page, ctx.font_path), seconds / 2)

        pooled = rt.issuer_context(pool=True)
        pooled.pool.warm_up()
        request = IssueRequest("birth", parse_matter("birth", EXAMPLES["birth"]))
        issue_batch(pooled, [request] * BATCH)  # warm-up
        done, batch_latencies, start = 0, [], time.perf_counter()
        while time.perf_counter() - start < seconds * 2:
            t = time.perf_counter()
            issue_batch(pooled, [request] * BATCH)
            batch_latencies.append(time.perf_counter() - t)
            done += BATCH
        pool_rate = done / (time.perf_counter() - start)
        processes = pooled.pool.processes

        print(f"level {level}")
        print(f"bare pyHanko sign_pdf (stock signer and TSA):  {bare_rate:7.1f} /s   (baseline)")
        print(f"bare pyHanko sign_pdf (this project's signer):  {tuned_rate:7.1f} /s")
        print(f"render only:                                   {render_rate:7.1f} /s")
        print(f"issue end to end, one at a time, 1 process:    {issue_rate:7.1f} /s   p50 "
              f"{percentile(lat, 50) * 1000:.1f} ms   p95 {percentile(lat, 95) * 1000:.1f} ms")
        print(f"issue end to end, batches of {BATCH}, {processes} signers: {pool_rate:7.1f} /s   "
              f"batch p50 {percentile(batch_latencies, 50):.2f} s")
        print(f"ratio pooled issue / bare:                     {pool_rate / bare_rate:7.2f}")
        emit({"benchmark": "issue", "signature": level, "database": "sqlite", "signing_processes": processes,
              "bare_pyhanko_per_second": round(bare_rate, 1), "bare_pyhanko_project_signer_per_second": round(tuned_rate, 1),
              "render_per_second": round(render_rate, 1), "issue_single_per_second": round(issue_rate, 1),
              "issue_single_p50_ms": round(percentile(lat, 50) * 1000, 1),
              "issue_single_p95_ms": round(percentile(lat, 95) * 1000, 1),
              "issue_pooled_per_second": round(pool_rate, 1), "batch": BATCH,
              "ratio_vs_bare": round(pool_rate / bare_rate, 2),
              "ratio_single_vs_bare": round(issue_rate / bare_rate, 2)})
    finally:
        rt.close()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
