"""Clicking points in 3-D maps.

Streamlit's plotly selection events never fire for ``Scatter3d`` (plotly's gl3d emits
``plotly_click`` but not ``plotly_selected``, and in headless software WebGL not even
``plotly_click`` reliably). This ``st.components.v2`` component runs a few lines of JavaScript
in the app page: it finds the 3-D plotly chart that ``st.plotly_chart`` rendered, follows its
``plotly_hover`` events, and reports the hovered point's ``customdata`` (the row id) back to
Python as a trigger value when the mouse is pressed and released on it without a drag (a drag
rotates the camera), or when plotly emits ``plotly_click``. It reuses the plotly.js that
Streamlit already loaded, so nothing large is sent.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function(component) {
  const { setTriggerValue } = component;
  function attach() {
    document.querySelectorAll('.js-plotly-plot').forEach((gd) => {
      if (gd.__lensClick3d || typeof gd.on !== 'function') return;
      if (!gd._fullData || !gd._fullData.some((t) => t.type === 'scatter3d')) return;
      gd.__lensClick3d = true;
      let hovered = null, down = null, sent = 0;
      const report = (id) => {
        const now = Date.now();
        if (id === null || id === undefined || now - sent < 300) return;
        sent = now;
        setTriggerValue('click', String(id));
      };
      gd.on('plotly_hover', (ev) => { const p = ev && ev.points && ev.points[0]; hovered = p ? p.customdata : null; });
      gd.on('plotly_unhover', () => { hovered = null; });
      gd.on('plotly_click', (ev) => { const p = ev && ev.points && ev.points[0]; if (p) report(p.customdata); });
      // a press and release without a drag (which would rotate the camera) on a hovered point
      gd.addEventListener('mousedown', (e) => { down = [e.clientX, e.clientY]; }, true);
      gd.addEventListener('mouseup', (e) => {
        if (down && Math.hypot(e.clientX - down[0], e.clientY - down[1]) < 5) report(hovered);
        down = null;
      }, true);
    });
  }
  attach();
  const timer = setInterval(attach, 400);
  return () => clearInterval(timer);
}
"""

_component = st.components.v2.component("embedding_lens_click3d", js=_JS)


def clicked_id(key: str = "click3d") -> str | None:
    """Mount the listener; the id of the point clicked in the 3-D map on this rerun, else None."""
    result = _component(key=key, on_click_change=lambda: None, height=0)
    return getattr(result, "click", None)
