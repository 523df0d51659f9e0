"""FastAPI application factory."""

from __future__ import annotations

import base64
import hmac
import logging
from contextlib import asynccontextmanager
from urllib.parse import unquote

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from anchoring.errors import AnchoringError
from anchoring.queue_gauges import AnchoringQueue
from feed.api import router as feed_router
from errors import DatabaseUnavailable, NotaryError
from signing.pades import SignatureLevel
from issuer.api import router as issuer_router
from issuer.auth import ISSUING_PREFIXES, AuthenticateFirst
from issuer.drafts_api import router as drafts_router
from keys.tsa import answer_request
from keys.ocsp import answer_ocsp
from observability.metrics import RATE_LIMITED, exposition
from processes.background import stopped_after
from storage.outages import OUTAGES
from preservation.api import PREFIX as PRESERVATIONS, UPLOAD_PATH as PRESERVATION_UPLOAD, router as preservation_router
from verifier.api import router as verifier_api
from verifier.evidence_routes import UPLOAD_PATHS as EVIDENCE_UPLOADS, router as evidence_router
from verifier.subscriptions_api import router as subscriptions_api
from verifier.gate import Gate
from verifier.pages import STATIC_DIR, router as verifier_pages
from console.routes import router as console_router
from console.web import STATIC_DIR as CONSOLE_STATIC

from .api_docs import OPENAPI_URL, add_api_docs
from .limits import BodySizeLimit
from .response_headers import ResponseHeaders
from .readiness import readiness
from .runtime import Runtime

log = logging.getLogger("notary")


def _error(status: int, code: str, message: str, message_zh: str, **extra) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "message_zh": message_zh, **extra}},
                        status_code=status)


def create_app(rt: Runtime, *, run_worker: bool = False, run_follower: bool = False,
               run_feed: bool = False) -> ResponseHeaders:
    """The API for one runtime. With ``run_worker`` the anchoring worker runs alongside, with
    ``run_follower`` the ledger mirror's follower, with ``run_feed`` the feed's deliveries (without one, lookups keep the mirror
    current themselves, one step every few seconds at most: anchoring.mirror)."""
    follow = run_follower and rt.registry is not None

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        with stopped_after(rt.start_worker_thread() if run_worker else None), \
                stopped_after(rt.start_follower_thread() if follow else None), \
                stopped_after(rt.start_feed_thread() if run_feed else None):
            yield

    app = FastAPI(title="Electronic notarial certificates", version="1", lifespan=lifespan,
                  docs_url=None, openapi_url=OPENAPI_URL, redoc_url=None)
    add_api_docs(app)
    issuing = rt.issuer_context(pool=True)
    app.include_router(issuer_router(issuing))
    app.include_router(drafts_router(issuing))
    verifying = rt.verifier_context(sandboxed=True)
    # One gate for the JSON API and the pages: a limit is not walked around by switching.
    gate = Gate(verifying, rt.qr_key, lookup_cache_seconds=rt.settings.lookup_cache_seconds,
                redis_url=rt.settings.redis_url, limits_prefix=rt.settings.redis_prefix,
                uploads_per_minute=rt.settings.upload_rate_per_minute, upload_slots=rt.settings.upload_slots,
                trusted_proxies=rt.settings.trusted_proxies)
    app.include_router(verifier_api(verifying, gate))
    app.include_router(subscriptions_api(verifying, gate))  # registries' subscriptions: the same keys and limits
    app.include_router(verifier_pages(verifying, gate))
    app.include_router(console_router(rt.console_context(issuing, verifying)))
    # The feed's download links (feed/links.py).
    app.include_router(feed_router(rt.engine, rt.feed_config.links.key))
    # Evidence preservation (preservation/api.py).
    app.include_router(preservation_router(rt.preservation_context(issuing)))
    # Checking a file against a preservation certificate: public, in the verifier's gate.
    app.include_router(evidence_router(verifying, gate, max_bytes=rt.settings.preservation_max_bytes))
    app.mount("/console/static", StaticFiles(directory=str(CONSOLE_STATIC)), name="console-static")

    # The verification pages' style sheet and script (no inline ones: see response_headers).
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    if rt.settings.tsa_url is None and rt.settings.signature_level != SignatureLevel.B_B:  # only when it is in use
        @app.post("/tsa", include_in_schema=False)
        async def development_tsa(request: Request) -> Response:
            """The development RFC 3161 TSA (application/timestamp-query, DER)."""
            body = await request.body()
            if not body or len(body) > 16 * 1024:
                return _error(400, "TSA_BAD_REQUEST", "send one DER TimeStampReq", "请求格式错误")
            try:
                answer = await run_in_threadpool(answer_request, rt.dev_tsa, body)
            except ValueError:
                return _error(400, "TSA_BAD_REQUEST", "not a DER TimeStampReq", "不是有效的时间戳请求")
            return Response(answer, media_type="application/timestamp-reply")

    @app.get("/pki/office-ca.crl", tags=["pki"], summary="The office CA's certificate revocation list (DER)")
    def office_crl() -> Response:
        return Response(rt.crls()[0], media_type="application/pkix-crl")

    @app.get("/pki/trust-bundle.json", tags=["pki"],
             summary="The trust bundle for offline verifiers: chain id, registry address, checkpoint block, notarial root")
    def trust_bundle() -> Response:
        try:
            bundle = rt.trust_bundle()
        except AnchoringError as exc:
            return _error(503, exc.code, "the ledger is not available; try again later", "公证链暂不可用，请稍后再试")
        return Response(bundle.to_json(), media_type="application/json")

    @app.get("/pki/notarial-root-ca.crl", tags=["pki"],
             summary="The notarial root's certificate revocation list (DER): office CAs, TSA, verification service")
    def root_crl() -> Response:
        return Response(rt.crls()[1], media_type="application/pkix-crl")

    @app.post("/pki/ocsp", tags=["pki"], summary="The office CA's OCSP responder (RFC 6960, DER in and out)")
    async def office_ocsp(request: Request) -> Response:
        # Malformed or foreign requests get a signed-off OCSP error status, as RFC 6960 asks.
        answer = await run_in_threadpool(answer_ocsp, rt.pki_dir, rt.passphrase, await request.body())
        return Response(answer, media_type="application/ocsp-response")

    @app.get("/pki/ocsp/{encoded:path}", tags=["pki"], summary="The same, as a GET (RFC 6960 Appendix A.1)")
    def office_ocsp_get(encoded: str) -> Response:
        try:
            request_der = base64.b64decode(unquote(encoded), validate=True)
        except ValueError:
            request_der = b""
        return Response(answer_ocsp(rt.pki_dir, rt.passphrase, request_der), media_type="application/ocsp-response")

    @app.get("/pki/notarial-root-ca.pem", tags=["pki"], summary="The notarial root certificate (trust anchor)")
    def root_certificate() -> Response:
        return Response((rt.pki_dir / "notarial-root-ca.pem").read_bytes(), media_type="application/x-pem-file")

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok"}

    queue = AnchoringQueue(rt.engine, rt.registry)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request, authorization: str | None = Header(default=None)) -> Response:
        """Prometheus metrics, for the operator: with NOTARY_METRICS_TOKEN set, to a bearer
        of it; otherwise only to a client on this machine (a scraper beside the service)."""
        token = rt.settings.metrics_token
        if token:
            allowed = authorization is not None and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode())
        else:
            allowed = request.client is not None and request.client.host in ("127.0.0.1", "::1")
        if not allowed:
            return _error(403, "METRICS_FORBIDDEN", "metrics are for the operator (NOTARY_METRICS_TOKEN)",
                          "监控指标仅供运维人员使用")
        body, content_type = exposition(queue)
        return Response(body, media_type=content_type)

    @app.get("/readyz", include_in_schema=False)
    def ready() -> JSONResponse:
        """Readiness: the database at the newest schema, and the chain node answering.
        503 names what is missing, for a load balancer or an operator."""
        checks = readiness(rt)
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    @app.exception_handler(NotaryError)
    async def _notary_error(request: Request, exc: NotaryError):
        if exc.http_status == 429:
            route = request.scope.get("route")
            RATE_LIMITED.labels(getattr(route, "path", "other")).inc()
        if exc.http_status >= 500:
            log.warning("%s: %s", exc.code, exc.message)  # the operator's details; the client gets client_view
        return JSONResponse({"error": exc.client_view()}, status_code=exc.http_status, headers=exc.headers())

    async def _database_away(request: Request, exc: Exception):
        # A database restarting is an outage, not a bug: 503, and the client retries. The
        # cause goes to the log (a missing table on SQLite is an OperationalError too).
        log.warning("database unavailable: %s: %s", type(exc).__name__, str(exc).splitlines()[0][:300] if str(exc) else "")
        return await _notary_error(request, DatabaseUnavailable())

    for outage in OUTAGES:
        app.add_exception_handler(outage, _database_away)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_r: Request, exc: RequestValidationError):
        fields = [{"field": ".".join(str(p) for p in e["loc"]), "rule": e["type"], "message": e["msg"]}
                  for e in exc.errors()]
        return _error(422, "INVALID_REQUEST", "; ".join(f"{f['field']}: {f['message']}" for f in fields),
                      "请求参数有误", fields=fields)

    @app.exception_handler(Exception)
    async def _unexpected(_r: Request, exc: Exception):
        log.exception("unexpected error")
        return _error(500, "INTERNAL_ERROR", "an unexpected error occurred; it has been logged", "系统内部错误，已记录")

    # Outermost, so the limit holds before any route or form parser reads the body.
    # Multipart framing adds a little to the file itself.
    limited = BodySizeLimit(app, rt.settings.max_upload_bytes + 64 * 1024, advertised=rt.settings.max_upload_bytes,
                            uploads={path: rt.settings.preservation_max_bytes
                                     for path in (PRESERVATION_UPLOAD, *EVIDENCE_UPLOADS)})
    # Outside that: an anonymous issuing request is refused before its body is read; every
    # answer, refusals included, carries the security headers.
    return ResponseHeaders(AuthenticateFirst(limited, rt.engine, prefixes=(*ISSUING_PREFIXES, PRESERVATIONS)))
