"""The web page in real headless Chromium (Debian's ``chromium``, driven by Playwright):
it loads offline, shows the flood overlay, and moving the slider changes it.

Needs ``apt-get install -y chromium`` (skipped with the reason when it is absent); never
downloads a browser (no ``playwright install``). The screenshot is saved in tmp_path.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from urllib.parse import urlparse

import httpx
import pytest

from floodcast.serve import ServeConfig, create_app

from .conftest import FRAMES, npz_bytes, storm

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium)"
)
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="pip install playwright (the Python package only; the browser is Debian's chromium)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(model_file, dem, tmp_path):
    import uvicorn

    watch = tmp_path / "radar"
    watch.mkdir()
    for k, fr in enumerate(storm(FRAMES + 1, seed=4, peak=60.0)):
        (watch / f"r{k:02d}.npz").write_bytes(npz_bytes(fr[None]))
    app = create_app(
        ServeConfig(
            model_file,
            dem,
            watch_dir=watch,
            state_dir=tmp_path / "state",
            n_leads=2,
            poll_s=0.05,
            ensemble=3,  # a small live ensemble: the probability layer, its slider and legend
            lead_min=10.0,
            thresholds=(0.01, 0.1),
            reference_check=False,
        )
    )
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 150
    while time.time() < deadline:
        try:
            idx = httpx.get(f"{base}/maps/latest", timeout=5).json()
            ens = idx.get("ensemble") or {}
            if (
                idx.get("model") == "ok"
                and idx["status"]["watch"]["files"] == FRAMES + 1
                and ens.get("analysis_time") == idx.get("valid_time")
            ):
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    else:
        pytest.fail(f"watch mode produced no maps in time: {idx}")
    yield base
    srv.should_exit = True
    th.join(30)


def _check_ensemble(page) -> None:
    """The live ensemble's probability layer, lead slider, threshold choice and legend."""
    page.wait_for_function("document.body.dataset.ensemble !== undefined", timeout=20000)
    assert page.locator("#ensemble").is_visible()
    prob = page.locator("img.leaflet-image-layer.prob")
    src = prob.get_attribute("src")
    assert "/maps/files/ens" in src and "_lead1_p0.png" in src
    slider = page.locator("#ens-slider")
    assert slider.get_attribute("max") == "1"  # 10 min lead of 5-min intervals: 2 leads
    slider.focus()
    page.keyboard.press("End")
    page.wait_for_function("document.body.dataset.ensLead === '10'", timeout=10000)
    assert "_lead2_p0.png" in prob.get_attribute("src")
    page.select_option("#ens-threshold", "0.1")
    assert "_lead2_p1.png" in prob.get_attribute("src")
    assert page.locator("#ens-legend .row").count() == 5
    assert "P ≥ 0.5" in page.locator("#ens-legend").inner_text()
    assert "3 of 3 members" in page.locator("#ens-status").inner_text()
    assert "+10 min" in page.locator("#ens-when").inner_text()


def test_page_overlay_and_slider(server, tmp_path):
    outside = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 700})

        def guard(route):  # offline: only the server itself may be reached
            if urlparse(route.request.url).hostname != "127.0.0.1":
                outside.append(route.request.url)
                return route.abort()
            return route.continue_()

        page.route("**/*", guard)
        page.goto(server + "/", wait_until="load")
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=30000)
        flood = page.locator("img.leaflet-image-layer.flood")
        page.wait_for_function(
            "() => { const i = document.querySelector("
            "'img.leaflet-image-layer.flood'); "
            "return i && i.complete && i.naturalWidth > 0; }",
            timeout=30000,
        )
        src_now = flood.get_attribute("src")
        assert "/maps/files/" in src_now and "_obs_flood.png" in src_now
        assert page.locator("#step-kind").inner_text() == "observed"
        assert "physics keeps up" in page.locator("#physics").inner_text()
        assert page.locator("#legend .row").count() >= 10

        slider = page.locator("#slider")
        assert int(slider.get_attribute("max")) >= 3
        slider.focus()
        page.keyboard.press("End")  # the last nowcast lead
        page.wait_for_function(
            f"document.querySelector('img.leaflet-image-layer.flood')"
            f".getAttribute('src') !== '{src_now}'",
            timeout=10000,
        )
        src_lead = flood.get_attribute("src")
        assert "_lead2_flood.png" in src_lead
        assert page.locator("#step-kind").inner_text().startswith("nowcast +10 min")
        page.wait_for_function(
            "document.querySelector('img.leaflet-image-layer.flood').naturalWidth > 0",
            timeout=10000,
        )
        _check_ensemble(page)
        shot = tmp_path / "floodcast_page.png"
        page.screenshot(path=str(shot))
        browser.close()
    assert shot.stat().st_size > 10_000
    assert not outside, f"the page tried to leave the server: {outside}"
    print(f"screenshot: {shot}")
