"""Full PDF verification (all six checks, chain included) against bare pyHanko
``validate_pdf_signature`` on the same file, in the same run (interleaved in slices, so load changes hit both alike).

    .venv/bin/python -m bench.verify_pdf [seconds]
"""

from __future__ import annotations

import io
import sys

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from bench.common import emit, interleaved_rates, percentile, temp_runtime
from records.matters import EXAMPLES
from issuer.service import issue_certificate
from verifier.service import verify_pdf


def main(seconds: float) -> None:
    rt = temp_runtime()
    try:
        issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
        rt.worker().run_once(force=True)
        ctx = rt.verifier_context()
        assert verify_pdf(ctx, issued.pdf).indication.value == "PASSED"
        roots = rt.trust_roots

        def bare():
            sig = PdfFileReader(io.BytesIO(issued.pdf)).embedded_signatures[0]
            validate_pdf_signature(sig, ValidationContext(trust_roots=roots, allow_fetching=False))

        def full():
            verify_pdf(ctx, issued.pdf)

        rates = interleaved_rates({"bare": bare, "full": full}, seconds)
        (bare_rate, _), (full_rate, lat) = rates["bare"], rates["full"]
        print(f"bare pyHanko validate_pdf_signature: {bare_rate:7.1f} /s")
        print(f"full verification (6 checks):        {full_rate:7.1f} /s   p50 {percentile(lat, 50) * 1000:.1f} ms")
        print(f"ratio full / bare:                   {full_rate / bare_rate:7.2f}")
        emit({"benchmark": "verify_pdf", "bare_pyhanko_per_second": round(bare_rate, 1),
              "full_per_second": round(full_rate, 1), "ratio_vs_bare": round(full_rate / bare_rate, 2),
              "full_p50_ms": round(percentile(lat, 50) * 1000, 1)})
    finally:
        rt.close()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
