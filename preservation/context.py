"""What preservation needs, wired once by the application shell."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from issuer.service import IssuerContext

from .sealed_files import file_key


@dataclass(frozen=True)
class PreservationContext:
    """``issuing``: the office's issuing context (numbers, signing, timestamps, anchoring);
    ``file_key``: seals preserved files; ``max_bytes``: the largest file accepted;
    ``retention_days``: how long a file is kept; ``duty_notary``: the notary named on
    certificates that clients and office administrators request (a notary names themself)."""

    issuing: IssuerContext
    file_key: bytes = field(repr=False)
    max_bytes: int = 20 * 1024 * 1024
    retention_days: int = 3650
    duty_notary: str | None = None

    @property
    def engine(self) -> Engine:
        return self.issuing.engine

    @property
    def office_code(self) -> str:
        return self.issuing.office.code


def make_context(issuing: IssuerContext, installation_secret: bytes, *, max_bytes: int, retention_days: int,
                 duty_notary: str | None) -> PreservationContext:
    """The context, its file key derived from the installation secret."""
    return PreservationContext(issuing, file_key(installation_secret), max_bytes, retention_days, duty_notary)
