// floodcast web map, live ensemble layer (serve --watch --ensemble M): the probability of
// depth above a threshold at each lead, from the `ensemble` part of /maps/latest, with a
// lead slider, a threshold choice, a legend and the cycle's status (members run, cycle
// time, real-time factor, and when members were cut to keep up). app.js calls
// floodcastEnsemble.update(idx) after each refresh; this file only reads its `state`.
"use strict";

window.floodcastEnsemble = (function () {
  const ens = { layer: null, index: null, legend: false };
  const el = (id) => document.getElementById(id);
  const num = (v, d) => (v === null || v === undefined ? "n/a" : Number(v).toFixed(d));

  function addLayer() {
    if (ens.layer || typeof state === "undefined" || !state.map) { return; }
    ens.layer = L.imageOverlay("", state.bounds, { opacity: 0.85, className: "cells prob" })
      .addTo(state.map);
    if (state.layers) { state.layers.addOverlay(ens.layer, "flood probability"); }
  }

  async function addLegend() {
    if (ens.legend) { return; }
    ens.legend = true;
    const area = await (await fetch("/api/area")).json();
    el("ens-legend").innerHTML = area.legend.probability.map((r) =>
      `<div class="row"><span class="sw" style="background:${r.color}"></span>` +
      `${r.label}</div>`).join("");
  }

  function showLead() {
    const e = ens.index;
    const lead = e && e.leads[Number(el("ens-slider").value)];
    if (!lead) { return; }
    const thr = el("ens-threshold").value;
    ens.layer.setUrl(lead.probability[thr]);
    document.body.dataset.ensLead = String(Math.round(lead.lead_min));
    el("ens-when").innerHTML =
      `<b>+${Math.round(lead.lead_min)} min</b> ${lead.time.replace("T", " ").replace("Z", " UTC")}` +
      `<br>highest P ${num(lead.max_probability[thr], 2)}, ` +
      `area with P ≥ 0.5: ${num(lead.area_p50_km2[thr], 3)} km²` +
      `<br>mean forecast rain ${num(lead.rain_mean_mmh, 2)} mm/h`;
  }

  function showStatus(st) {
    const parts = [];
    if (st.members_run) {
      parts.push(`${st.members_run} of ${st.members_requested} members, ` +
        `cycle ${num(st.cycle_s, 1)} s, ${num(st.realtime_factor, 1)}× real time`);
      if (st.reduced) {
        parts.push('<span class="no">fewer members than asked: a full cycle would not ' +
          "finish within the radar interval</span>");
      }
    }
    if (st.cycles_skipped) { parts.push(`${st.cycles_skipped} older state(s) skipped`); }
    if (st.waiting) { parts.push(st.waiting); }
    if (st.busy) { parts.push("cycle running…"); }
    if (st.error) { parts.push(`<span class="no">last cycle failed: ${st.error}</span>`); }
    el("ens-status").innerHTML = parts.join("<br>");
  }

  function update(idx) {
    const e = idx.ensemble;
    el("ensemble").hidden = !e;
    if (!e) { return; }
    showStatus(e.status || {});
    if (!e.leads || !e.leads.length) { return; }
    addLayer();
    addLegend().catch((err) => console.warn("ensemble legend:", err));
    const slider = el("ens-slider");
    const select = el("ens-threshold");
    if (!ens.index || ens.index.seq !== e.seq) {
      const keys = Object.keys(e.leads[0].probability);
      const keep = select.value;
      select.innerHTML = keys.map((k) => `<option value="${k}">${k}</option>`).join("");
      select.value = keys.includes(keep) ? keep : keys[0];
      slider.max = String(e.leads.length - 1);
      slider.disabled = e.leads.length < 2;
      if (Number(slider.value) > e.leads.length - 1) { slider.value = slider.max; }
      ens.index = e;
      el("ens-analysis").textContent = `from ${e.analysis_time.replace("T", " ")
        .replace("Z", " UTC")}, ${e.method}, lead ${Math.round(e.lead_min)} min`;
      showLead();
      document.body.dataset.ensemble = String(e.seq);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    el("ens-slider").addEventListener("input", showLead);
    el("ens-threshold").addEventListener("change", showLead);
  });
  return { update };
})();
