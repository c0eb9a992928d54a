// floodcast web map: hillshade, radar and flood overlays (PNGs from this server) with a
// time slider across observed frames and nowcast lead times. No network beyond the
// server itself; an optional basemap comes from ?basemap=<tile URL template>.
"use strict";

const state = { map: null, bounds: null, steps: [], seq: null, radar: null, flood: null,
                follow: true };

function el(id) { return document.getElementById(id); }

function fmtTime(iso) {
  return iso ? iso.replace("T", " ").replace("Z", " UTC") : "";
}

function overlayBounds(area) {
  return area.crs === "lonlat" ? L.latLngBounds(area.bounds)
    : L.latLngBounds([0, 0], [area.shape[0], area.shape[1]]);
}

function buildLegend(legend) {
  const parts = ["<h2>Flood</h2>",
    `<div class="row"><span class="sw" style="background:${legend.flood.color}"></span>` +
      `${legend.flood.label} (darker = more likely)</div>`,
    `<div class="row"><span class="sw outline" style="border-color:${legend.physics.color}">` +
      `</span>${legend.physics.label}</div>`, "<h2>Radar rain</h2>"];
  for (const r of legend.radar) {
    parts.push(`<div class="row"><span class="sw" style="background:${r.color}"></span>` +
               `${r.label}</div>`);
  }
  el("legend").innerHTML = parts.join("");
}

function showStep(i) {
  const s = state.steps[i];
  if (!s) { return; }
  state.radar.setUrl(s.radar);
  state.flood.setUrl(s.flood);
  document.body.dataset.step = String(i);
  const kind = el("step-kind");
  kind.textContent = s.kind === "observed" ? "observed" : `nowcast +${Math.round(s.lead_min)} min`;
  kind.className = s.kind;
  el("step-time").textContent = fmtTime(s.time);
  const f = (v, d) => (v === null || v === undefined ? "n/a" : Number(v).toFixed(d));
  el("step-stats").innerHTML =
    `mean rain ${f(s.rain_mean_mmh, 2)} mm/h<br>` +
    `wet area: model ${f(s.model_wet_km2, 2)} km², physics ${f(s.physics_wet_km2, 2)} km²<br>` +
    `agreement (CSI model vs physics): ${f(s.csi, 2)}`;
}

function showStatus(idx) {
  const st = idx.status || {};
  const p = st.physics || {};
  const parts = [];
  if (p.update_s) {
    const ok = p.keeps_up;
    parts.push(`physics keeps up: <span class="${ok ? "yes" : "no"}">${ok ? "yes" : "NO"}</span>` +
               `, ${Number(p.realtime_factor).toFixed(1)}× real time ` +
               `(${p.cells} cells, ${Number(p.update_s).toFixed(2)} s per ` +
               `${Math.round(p.interval_s / 60)}-min update)`);
  }
  const w0 = st.watch || {};
  if (w0.update_s) {
    const ok = w0.update_s < w0.update_interval_s;
    parts.push(`whole update (model + physics + nowcast): ${Number(w0.update_s).toFixed(1)} s ` +
               `per ${Math.round(w0.update_interval_s / 60)} min of radar: ` +
               `<span class="${ok ? "yes" : "no"}">${ok ? "keeps up" : "falls behind"}</span>`);
  }
  const ref = st.reference;
  if (ref && ref.realtime_factor) {
    parts.push(`512×512 check: ${ref.keeps_up ? "keeps up" : "<b>cannot keep up</b>"}, ` +
               `${Number(ref.realtime_factor).toFixed(1)}× real time`);
  }
  if (idx.nowcast) { parts.push(`nowcast: ${idx.nowcast}`); }
  if (idx.model && idx.model !== "ok") { parts.push(`model: ${idx.model}`); }
  const w = st.watch || {};
  if (w.rejected) { parts.push(`${w.rejected} radar file(s) skipped (see /maps/latest)`); }
  el("physics").innerHTML = parts.join("<br>");
  el("updated").textContent = idx.updated ? `updated ${fmtTime(idx.updated)}` : "";
}

async function refresh() {
  let idx;
  try {
    idx = await (await fetch("/maps/latest", { cache: "no-store" })).json();
  } catch (e) {
    el("notice").textContent = "server not reachable";
    return;
  }
  showStatus(idx);
  if (window.floodcastEnsemble) { window.floodcastEnsemble.update(idx); } // ensemble.js
  if (!idx.available || !idx.steps || !idx.steps.length) {
    el("notice").textContent = "No maps yet: waiting for radar files (watch mode) " +
      "or a POST /predict?publish=true.";
    return;
  }
  el("notice").textContent = "";
  if (idx.seq === state.seq) { return; }
  state.seq = idx.seq;
  state.steps = idx.steps;
  const slider = el("slider");
  const nowIdx = idx.steps.map((s) => s.kind).lastIndexOf("observed");
  slider.max = String(idx.steps.length - 1);
  slider.disabled = idx.steps.length < 2;
  if (state.follow || Number(slider.value) > idx.steps.length - 1) {
    slider.value = String(Math.max(nowIdx, 0));
  }
  showStep(Number(slider.value));
}

async function init() {
  const area = await (await fetch("/api/area")).json();
  const lonlat = area.crs === "lonlat";
  const map = L.map("map", { crs: lonlat ? L.CRS.EPSG3857 : L.CRS.Simple, zoomSnap: 0.25,
                             minZoom: lonlat ? 3 : -5 });
  state.map = map;
  state.bounds = overlayBounds(area);
  const basemap = new URLSearchParams(location.search).get("basemap");
  if (basemap && lonlat) {
    L.tileLayer(basemap, { attribution: "basemap: " + new URL(basemap).host }).addTo(map);
  }
  const hill = L.imageOverlay(area.hillshade, state.bounds, { className: "cells" }).addTo(map);
  state.radar = L.imageOverlay("", state.bounds, { opacity: 0.75, className: "cells radar" })
    .addTo(map);
  state.flood = L.imageOverlay("", state.bounds, { className: "cells flood" }).addTo(map);
  state.layers = L.control.layers(null, { hillshade: hill, radar: state.radar,
                                          flood: state.flood }, { collapsed: false }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  map.fitBounds(state.bounds);
  el("area-name").textContent = `${area.dem} (${area.shape[0]}×${area.shape[1]}, ` +
    `${Math.round(area.cell_size_m)} m cells)`;
  buildLegend(area.legend);
  el("slider").addEventListener("input", (e) => {
    const i = Number(e.target.value);
    state.follow = state.steps[i] && state.steps[i].kind === "observed" &&
      i === state.steps.map((s) => s.kind).lastIndexOf("observed");
    showStep(i);
  });
  await refresh();
  document.body.dataset.ready = "1";
  setInterval(refresh, 10000);
}

init().catch((e) => { el("notice").textContent = "page error: " + e; });
