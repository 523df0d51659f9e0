"""What a load balancer asks before sending traffic: can this process serve right now?"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from anchoring.errors import AnchoringError

from .database import current_revision, head_revision


def readiness(rt) -> dict[str, str]:
    """``ok`` or a short reason for the database (and its schema) and the chain node."""
    checks: dict[str, str] = {}
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(rt.engine)
        checks["database"] = "ok" if revision == head_revision() else f"schema {revision}, expected {head_revision()}"
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
    if rt.registry is None:
        checks["chain"] = "not configured"
    else:
        try:
            rt.registry.block_number()
            checks["chain"] = "ok"
        except AnchoringError as exc:
            checks["chain"] = f"unreachable ({exc.code})"
    if rt.settings.mirror_lookups and rt.mirror is not None:
        # Lookups answer from the mirror: behind or silent, they could not pass anything.
        try:
            state = rt.mirror.state()
            checks["ledger_mirror"] = "not started" if state is None else "ok" if state.current else str(state.why_not)
        except SQLAlchemyError as exc:
            checks["ledger_mirror"] = f"unreadable ({type(exc).__name__})"
    return checks
