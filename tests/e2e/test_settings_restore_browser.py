"""Real-browser test of issue 17 item 5: a settings JSON saved after clustering, focus, search
and a zoom of the live map's camera restores all of them on a fresh page (another browser
context, i.e. another Streamlit session)."""

from __future__ import annotations

import json
import time

import pytest
from e2e_helpers import (
    FOCUS_TEXT,
    MAP,
    alerts,
    checked_option,
    fail_on_exception,
    go_to,
    map_attr,
    wait_for,
    wait_for_message,
    wait_for_plot,
    wait_idle,
)

pytestmark = pytest.mark.e2e


def _camera(page, *, other_than: str | None = None, timeout: float = 120) -> dict:
    """The camera the map last reported to Python (``data-camera``), once there is one
    (other than ``other_than``)."""
    deadline = time.monotonic() + timeout
    while True:
        raw = map_attr(page, "data-camera")
        if raw and raw != other_than:
            return json.loads(raw)
        fail_on_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(f"the map reported no camera after {timeout} s; alerts: {alerts(page)!r}")
        page.wait_for_timeout(250)


def _search_value(page) -> str:
    box = page.locator("[data-testid='stMain'] [data-testid='stTextInput']").filter(has_text="Search labels")
    wait_for(page, box, "the search box", 120)
    return box.locator("input").input_value()


def test_settings_json_restores_clusters_focus_search_and_camera(page, browser, app_url, tmp_path):
    page.goto(app_url + "/?reducer=pca&cluster=kmeans:6:projection&q=queen&focus=king")
    info = wait_for_plot(page, timeout=400)
    page.wait_for_function(f"() => ({FOCUS_TEXT})() === 'Focus: king'", timeout=120_000)
    wait_idle(page)
    assert _search_value(page) == "queen"
    assert checked_option(page, "Method") == "KMeans"
    # zoom in with the mouse wheel: the map reports the camera once it rests
    plot = page.locator(f"{MAP} .plot").first.bounding_box()
    page.mouse.move(plot["x"] + plot["width"] * 0.4, plot["y"] + plot["height"] * 0.4)
    for _ in range(4):
        page.mouse.wheel(0, -240)
        page.wait_for_timeout(60)
    saved_camera = _camera(page)
    wait_idle(page)
    assert len(saved_camera["target"]) == 2 and saved_camera["zoom"] > -60
    # download the settings JSON; the camera's report reruns the panels, so a download made
    # before that rerun reached the page has no camera yet: download again until it has
    page.locator("[data-testid='stExpander']").filter(has_text="Export").first.locator("summary").click()
    button = page.locator("[data-testid='stDownloadButton']").filter(has_text="Settings JSON").first
    path = tmp_path / "view.settings.json"
    deadline = time.monotonic() + 180
    while True:
        wait_for(page, button, "the Settings JSON button", 60)
        with page.expect_download(timeout=120_000) as dl:
            button.locator("button").first.click()
        dl.value.save_as(path)
        s = json.loads(path.read_text())
        if "camera" in s["view"] or time.monotonic() > deadline:
            break
        wait_idle(page)
        page.wait_for_timeout(500)
    view = s["view"]
    assert view["clusters"] == {"method": "kmeans", "k": 6, "space": "projection"}
    assert view["focus"] == "king" and view["search"] == "queen"
    assert view.get("camera") == saved_camera, (view.get("camera"), saved_camera)
    assert s["projection"]["reducer"] == "pca"

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        second = other.new_page()
        second.set_default_timeout(120_000)
        second.goto(app_url + "/?reducer=pca")  # a fresh session: no clusters, search, focus or zoom
        wait_for_plot(second, timeout=400)
        assert map_attr(second, "data-camera") is None
        go_to(second, "Data")
        wait_idle(second)
        loader = second.locator("[data-testid='stMain'] [data-testid='stFileUploader']").filter(
            has_text="Load settings"
        )
        wait_for(second, loader, "the 'Load settings' file input", 60)
        loader.locator("input[type=file]").set_input_files(str(path))
        kind, text = wait_for_message(second, "Settings loaded")
        assert kind == "success", text
        go_to(second, "Explore")
        wait_for_plot(second, timeout=400)
        second.wait_for_function(f"() => ({FOCUS_TEXT})() === 'Focus: king'", timeout=120_000)
        restored = _camera(second)
        wait_idle(second)
        assert restored["target"] == pytest.approx(saved_camera["target"], abs=1e-4)
        assert restored["zoom"] == pytest.approx(saved_camera["zoom"], abs=1e-4)
        assert _search_value(second) == "queen"
        assert checked_option(second, "Method") == "KMeans"
        assert "cluster=kmeans%3A6%3Aprojection" in second.url or "cluster=kmeans:6:projection" in second.url
        assert info["n"] == plot_n(second)
    finally:
        other.close()


def plot_n(page) -> int:
    return int(map_attr(page, "data-n") or -1)


def _cam_param(page) -> list[float] | None:
    from urllib.parse import parse_qs, urlparse

    values = parse_qs(urlparse(page.url).query).get("cam")
    return [float(v) for v in values[0].split(",")] if values else None


def test_a_3d_link_opens_at_its_camera_and_a_rotation_updates_the_link(page, app_url):
    """The link's ``cam`` (3-D: target, zoom, orbit, tilt) puts the OrbitView there; rotating
    the map moves the link's camera with it."""
    want = [0.5, -0.25, 0.125, 5.0, 75.0, -30.0]
    page.goto(app_url + "/?sample=glove&reducer=pca&dims=3&cam=" + ",".join(f"{v:g}" for v in want))
    info = wait_for_plot(page, timeout=400, dims=3)
    assert info["dims"] == 3
    restored = _camera(page)  # what the page reports once the restored camera rests
    got = [*restored["target"], restored["zoom"], restored["rotationOrbit"], restored["rotationX"]]
    assert got == pytest.approx(want, abs=1e-3), got
    wait_idle(page)
    assert _cam_param(page) == pytest.approx(want, abs=1e-3)
    # drag sideways: the orbit turns, the page reports the new camera, the link follows
    before = map_attr(page, "data-camera")
    plot = page.locator(f"{MAP} .plot").first.bounding_box()
    x, y = plot["x"] + plot["width"] * 0.5, plot["y"] + plot["height"] * 0.5
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x + 12 * i, y)
    page.mouse.up()
    moved = _camera(page, other_than=before)
    assert moved["rotationOrbit"] != pytest.approx(want[4], abs=0.5), moved
    deadline = time.monotonic() + 60
    while True:  # the link follows the camera the map reported last
        cam = json.loads(map_attr(page, "data-camera"))
        now = [*cam["target"], cam["zoom"], cam["rotationOrbit"], cam["rotationX"]]
        if _cam_param(page) == pytest.approx(now, abs=1e-3):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the link kept cam={_cam_param(page)} after the map reported {now}")
        page.wait_for_timeout(250)
    fail_on_exception(page)
