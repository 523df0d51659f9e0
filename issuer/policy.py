"""Rules the office must not forget, applied before a certificate is numbered.

- No full-scope power of attorney (全权委托) that includes disposing of real estate when the
  principal is 60 or older: a protection of elderly people against losing their home.
- Wills of testators aged 80 or older, and will safekeeping for people aged 60 or older,
  are fee-exempt (免费); the fee decision is recorded on the certificate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from records.matters import MatterInput
from records.matters.estate import PowerOfAttorneyInput, WillInput

from .errors import IssuerError

ELDERLY_AGE = 60
WILL_FEE_EXEMPT_AGE = 80
# The audit action of an issue attempt refused by a rule (issuer.service): details hold the
# rule's code and the matter key, never personal data; console.statistics counts them.
REFUSAL_ACTION = "policy.refuse"


class PolicyViolation(IssuerError):
    http_status = 422

    def __init__(self, code: str, message: str, message_zh: str):
        super().__init__(message, message_zh)
        self.code = code  # type: ignore[misc]  # one class for every rule: the rule's code is the instance's


@dataclass(frozen=True)
class PolicyOutcome:
    fee_exempt: bool = False
    fee_note: str | None = None


def apply_policies(matter: MatterInput, issue_date: dt.date) -> PolicyOutcome:
    age = matter.age_on(issue_date)
    if isinstance(matter, PowerOfAttorneyInput) and matter.scope == "全权委托" and matter.disposes_real_estate \
            and age >= ELDERLY_AGE:
        raise PolicyViolation(
            "POLICY_ELDERLY_FULL_POA",
            f"a full-scope power of attorney that disposes of real estate cannot be notarised for a principal "
            f"aged {age} (60 or older); grant specific powers instead",
            f"委托人已满{age}周岁（60周岁以上），不得办理包含处分房产的全权委托公证；请改为特别授权",
        )
    if isinstance(matter, WillInput):
        notes = []
        if age >= WILL_FEE_EXEMPT_AGE:
            notes.append(f"立遗嘱人年满{WILL_FEE_EXEMPT_AGE}周岁，遗嘱公证免费")
        if matter.safekeeping and age >= ELDERLY_AGE:
            notes.append(f"年满{ELDERLY_AGE}周岁，遗嘱保管免费")
        if notes:
            return PolicyOutcome(fee_exempt=True, fee_note="；".join(notes))
    return PolicyOutcome()
