"""The interactive API documentation, served whole by this service (no CDN: courts and
registries often have no internet on the machines that call us), and the OpenAPI
document's security schemes.

Swagger UI comes from the npm package ``swagger-ui-dist`` installed by the set-up (pinned
in package-lock.json); the OpenAPI document declares how each route is authenticated:
issuer tokens for issuing, registry API keys for the batch API, nothing for the rest."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from anchoring.node import REPO_ROOT

SWAGGER_UI = REPO_ROOT / "node_modules" / "swagger-ui-dist"
DOCS_URL, ASSETS_URL, OPENAPI_URL = "/api/docs", "/api/docs/assets", "/api/openapi.json"

SECURITY_SCHEMES = {
    "IssuerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "ent_…",
                    "description": "A notary's or administrator's token (`notary token create`): "
                                   "`Authorization: Bearer ent_…`"},
    "RegistryApiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "API key",
                       "description": "A registry's API key for the batch API (`notary apikey create`): "
                                      "`Authorization: Bearer …`"},
}
ISSUING_TAGS = {"issue", "drafts"}
REGISTRY_PATHS = {"/api/v1/verify/batch", "/api/v1/subscriptions", "/api/v1/subscriptions/{certificate_id}"}


def add_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI and its assets from this origin at /api/docs, and declare the
    security schemes in the OpenAPI document (create the app with ``docs_url=None``)."""
    if SWAGGER_UI.is_dir():
        app.mount(ASSETS_URL, StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui")

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        if not SWAGGER_UI.is_dir():
            return HTMLResponse("<p>API documentation assets are missing: run <code>make setup</code> "
                                f"(npm package swagger-ui-dist). The OpenAPI document is at {OPENAPI_URL}.</p>",
                                status_code=503)
        return get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{app.title} — API",
                                   swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png")

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = with_security(get_openapi(title=app.title, version=app.version, routes=app.routes,
                                                           description=app.description))
        return app.openapi_schema

    # FastAPI's documented way to extend the generated document; mypy refuses any assignment to a method.
    app.openapi = openapi  # type: ignore[method-assign]


def with_security(schema: dict) -> dict:
    """Declare the bearer schemes and put each authenticated operation under its scheme,
    in place of the bare ``Authorization`` header parameter the routes read."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            scheme = ("RegistryApiKey" if path in REGISTRY_PATHS
                      else "IssuerToken" if ISSUING_TAGS & set(operation.get("tags", [])) else None)
            if scheme is None:
                continue
            operation["security"] = [{scheme: []}]
            params = [p for p in operation.get("parameters", [])
                      if not (p.get("in") == "header" and p.get("name", "").lower() == "authorization")]
            if params:
                operation["parameters"] = params
            else:
                operation.pop("parameters", None)
    return schema

