"""Clicking points in 3-D maps.

Streamlit's plotly selection events never fire for ``Scatter3d`` (plotly's gl3d emits
``plotly_click`` but not ``plotly_selected``). This ``st.components.v2`` component runs a few
lines of JavaScript in the app page: it finds the 3-D plotly chart that ``st.plotly_chart``
rendered, listens to its ``plotly_click`` events and reports the clicked point's
``customdata`` (the row id) back to Python as a trigger value. It reuses the plotly.js that
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
      gd.on('plotly_click', (ev) => {
        const p = ev && ev.points && ev.points[0];
        if (p && p.customdata !== undefined && p.customdata !== null) {
          setTriggerValue('click', String(p.customdata));
        }
      });
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
