"""``/docs`` without a CDN: Swagger UI's assets served from the swagger-ui-bundle package.

FastAPI's default ``/docs`` page loads Swagger UI's JavaScript and CSS from jsdelivr, so
it is blank offline (a flood-operations room often is). The same page is built here with
``fastapi.openapi.docs.get_swagger_ui_html`` pointing at ``/docs-assets``, mounted from
``swagger_ui_bundle`` (the ``serve`` extra).
"""

from __future__ import annotations

from typing import Any

ASSETS = "/docs-assets"


def install_offline_docs(app: Any) -> bool:
    """Serve ``/docs`` with local assets; False (and no route) if the bundle is missing.

    The app must be created with ``docs_url=None``.
    """
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return False
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Any:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - API docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    return True
