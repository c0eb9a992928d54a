// floodcast web map, social-media layer: relevant posts per place from GET /api/posts
// (serve --posts places.geojson), drawn beside the flood extent as circles sized by the
// number of posts, coloured by the most reported information type. Kept apart from
// app.js: it only reads app.js's `state.map` once the map exists.
"use strict";

(function () {
  const COLOURS = {
    "Affected individuals": "#1f77b4", "Infrastructure and utilities": "#ff7f0e",
    "Donations and volunteering": "#2ca02c", "Caution and advice": "#d62728",
    "Sympathy and support": "#9467bd", "Other Useful Information": "#8c564b",
  };

  function escape(s) {
    return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  function popup(p) {
    const rows = Object.entries(p.types || {}).map(
      ([t, n]) => `<tr><td>${escape(t)}</td><td style="text-align:right">${n}</td></tr>`);
    return `<b>${escape(p.name)}</b> (${escape(p.event)})<br>${p.posts} relevant posts` +
      (rows.length ? `<table>${rows.join("")}</table>` : "");
  }

  function topType(p) {
    let best = null;
    for (const [t, n] of Object.entries(p.types || {})) {
      if (best === null || n > p.types[best]) { best = t; }
    }
    return best;
  }

  async function addPosts(map) {
    const resp = await fetch("/api/posts");
    if (resp.status === 404) { return; } // serve started without --posts
    if (!resp.ok) { console.warn("posts layer:", resp.status); return; }
    const fc = await resp.json();
    if (map.options.crs !== L.CRS.EPSG3857) {
      console.info("posts layer needs a georeferenced DEM (lon/lat map); not drawn");
      return;
    }
    const layer = L.geoJSON(fc, {
      pointToLayer: (f, latlng) => L.circleMarker(latlng, {
        radius: 4 + 2 * Math.sqrt(f.properties.posts), weight: 1, color: "#222",
        fillColor: COLOURS[topType(f.properties)] || "#777", fillOpacity: 0.75,
      }),
      onEachFeature: (f, l) => l.bindPopup(popup(f.properties)),
    }).addTo(map);
    L.control.layers(null, { posts: layer }, { collapsed: false, position: "topright" })
      .addTo(map);
  }

  function whenMap(tries) {
    // `state` is app.js's top-level binding; the map exists after its init() resolves.
    if (typeof state !== "undefined" && state.map) {
      addPosts(state.map).catch((e) => console.warn("posts layer:", e));
    } else if (tries > 0) {
      setTimeout(() => whenMap(tries - 1), 200);
    }
  }

  whenMap(100);
})();
