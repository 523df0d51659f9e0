"""Why a certificate was revoked: the reason codes the ledger records, and their words.

Every place that reports a revoked certificate (pages, JSON reports, the batch API, the
signed report PDF, the command line) says the reason in words from here, never a bare
number."""

from __future__ import annotations

from enum import IntEnum

from anchoring.outbox import SUPERSEDED  # the ledger's code for a certificate replaced by a correction


class RevocationReason(IntEnum):
    """Reason codes, as recorded on the ledger (1..254; 255 is 'superseded')."""

    ISSUED_IN_ERROR = 1  # 错误出证
    WITHDRAWN = 2  # 当事人撤回申请
    OBTAINED_BY_DECEPTION = 3  # 以欺骗手段取得
    COURT_ORDER = 4  # 人民法院裁判
    OTHER = 9


_WORDS = {
    RevocationReason.ISSUED_IN_ERROR: ("错误出证", "issued in error"),
    RevocationReason.WITHDRAWN: ("当事人撤回申请", "application withdrawn by the applicant"),
    RevocationReason.OBTAINED_BY_DECEPTION: ("以欺骗手段取得", "obtained by deception"),
    RevocationReason.COURT_ORDER: ("依人民法院裁判撤销", "revoked by order of a people's court"),
    RevocationReason.OTHER: ("其他原因", "other reason"),
    SUPERSEDED: ("已更正，由新公证书取代", "corrected: replaced by a new certificate"),
}


def reason_words(code: int | None) -> tuple[str, str]:
    """The reason in Chinese and English; an unknown code is named as such, never hidden."""
    if code is None:
        return "未说明原因", "no reason recorded"
    return _WORDS.get(code, (f"原因代码 {code}", f"reason code {code}"))


def _listed(codes) -> str:
    return "; ".join(f"{int(code)} {_WORDS[code][1]} ({_WORDS[code][0]})" for code in codes)


# For the API's documentation: the reasons a clerk may give, and every code a report may say.
REVOCATION_REASONS = _listed(RevocationReason)
REASON_CODES = _listed(_WORDS)
