// pktpath HTML report: lays out the topology with dagre (inlined above), draws the
// selected probe's first packet and first reply over it, lists their hops.
// Every piece of scenario text goes in through textContent, never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("svg");
  var topo = data.topology;

  function s(tag, attrs, parent, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, cls, parent, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function short(t, n) { return t.length > n ? t.slice(0, n - 1) + "…" : t; }

  // ---- layout -------------------------------------------------------------
  var g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 26, ranksep: 54, edgesep: 12, marginx: 14, marginy: 30 });
  g.setDefaultEdgeLabel(function () { return {}; });
  var devs = {};
  var CH = 6.7, LH = 13;
  topo.namespaces.forEach(function (ns) { g.setNode("ns:" + ns, { label: ns }); });
  topo.devices.forEach(function (d) {
    devs[d.id] = d;
    var lines = [d.name, d.kind + (d.up ? "" : " (down)") + (d.hairpin ? " hairpin" : "")].concat(d.addrs);
    if (d.moreAddrs) lines.push("+" + d.moreAddrs + " more");
    d.lines = lines;
    var w = Math.max.apply(null, lines.map(function (l) { return l.length; })) * CH + 16;
    g.setNode(d.id, { width: Math.max(w, 70), height: lines.length * LH + 10 });
    if (g.hasNode("ns:" + d.ns)) g.setParent(d.id, "ns:" + d.ns);
  });
  topo.namespaces.forEach(function (ns) {
    if (!topo.devices.some(function (d) { return d.ns === ns; })) {
      g.setNode("empty:" + ns, { width: 90, height: 22 });
      g.setParent("empty:" + ns, "ns:" + ns);
    }
  });
  var edges = [];
  topo.devices.forEach(function (d) {
    // veth pairs once, from the side outside the root namespace (pods above the host);
    // bridge ports above their bridge.
    if (d.peer && devs[d.peer] && (d.ns !== "host" || (devs[d.peer].ns === "host" && d.id < d.peer))) {
      g.setEdge(d.id, d.peer, {}, "veth:" + d.id);
      edges.push({ v: d.id, w: d.peer, name: "veth:" + d.id, kind: "veth" });
    }
    if (d.master && devs[d.master]) {
      g.setEdge(d.id, d.master, {}, "port:" + d.id);
      edges.push({ v: d.id, w: d.master, name: "port:" + d.id, kind: "port" });
    }
  });
  dagre.layout(g);

  var gi = g.graph();
  var W = Math.max(gi.width || 200, 200), H = Math.max(gi.height || 100, 100);
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  var defs = s("defs", {}, svg);
  ["request", "reply"].forEach(function (dir) {
    var m = s("marker", { id: "arrow-" + dir, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "5", markerHeight: "5", orient: "auto-start-reverse" }, defs);
    s("path", { d: "M0,0 L10,5 L0,10 z", class: dir }, m);
  });
  var base = s("g", { id: "topology" }, svg);
  var nsEls = {};
  topo.namespaces.forEach(function (ns) {
    var n = g.node("ns:" + ns);
    if (!n || n.width === undefined) return;
    var grp = s("g", { class: "ns", "data-ns": ns }, base);
    // Room for the label above the cluster's contents.
    s("rect", { x: n.x - n.width / 2, y: n.y - n.height / 2 - 18, width: n.width, height: n.height + 18 }, grp);
    s("text", { x: n.x - n.width / 2 + 8, y: n.y - n.height / 2 - 4 }, grp, ns);
    nsEls[ns] = grp;
  });
  edges.forEach(function (e) {
    var pts = g.edge({ v: e.v, w: e.w, name: e.name }).points;
    s("path", { class: "edge " + e.kind, "data-from": e.v, "data-to": e.w, d: "M" + pts.map(function (p) { return p.x + "," + p.y; }).join(" L") }, base);
  });
  var devEls = {};
  topo.devices.forEach(function (d) {
    var n = g.node(d.id);
    var grp = s("g", { class: "dev " + d.kind + (d.up ? "" : " down"), "data-dev": d.id, tabindex: "-1" }, base);
    s("title", {}, grp, d.id + (d.mac ? " " + d.mac : "") + (d.master ? " (port of " + d.master + ")" : "") + (d.peer ? " (peer " + d.peer + ")" : ""));
    s("rect", { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height }, grp);
    d.lines.forEach(function (l, i) {
      s("text", { class: i === 0 ? "name" : i === 1 ? "sub" : "", x: n.x - n.width / 2 + 8, y: n.y - n.height / 2 + 5 + LH * (i + 1) - 3 }, grp, l);
    });
    d.box = n;
    devEls[d.id] = grp;
  });
  var overlay = s("g", { id: "path" }, svg);

  var legend = document.getElementById("legend");
  [["request", "var(--req)"], ["reply", "var(--rep)"], ["NAT", "var(--nat)"], ["drop", "var(--drop)"]].forEach(function (x) {
    var span = h("span", "", legend);
    h("i", "", span).style.background = x[1];
    span.appendChild(document.createTextNode(x[0]));
  });

  // ---- probes table -------------------------------------------------------
  var check = data.mode === "check";
  var thead = document.querySelector("#probe-table thead");
  var tbody = document.querySelector("#probe-table tbody");
  var cols = check
    ? [["line", "5%"], ["command", "29%"], ["emulator", "13%"], ["kernel", "13%"], ["agree", "6%"], ["expected", "14%"], ["why", "20%"]]
    : [["line", "5%"], ["netns", "11%"], ["command", "26%"], ["outcome", "16%"], ["expected", "15%"], ["result", "6%"], ["why", "21%"]];
  var hr = h("tr", "", thead);
  cols.forEach(function (c) { h("th", "", hr, c[0]).style.width = c[1]; });
  function withClient(o) { return o.server && o.client_ip ? o.outcome + " (client " + o.client_ip + ")" : o.outcome; }
  var rows = data.probes.map(function (p, i) {
    var tr = h("tr", "", tbody);
    tr.tabIndex = 0;
    tr.dataset.index = String(i);
    tr.dataset.line = String(p.line);
    var cells = check
      ? [[String(p.line)], [p.command, "cmd"], [withClient(p)], [p.kernel ? withClient(p.kernel) : p.agree === null ? "skipped" : "-"], [p.agree === null ? "-" : p.agree ? "yes" : "NO", p.agree === null ? "" : p.agree ? "yes" : "no"], [p.expected || "-"], [p.why || "", "why"]]
      : [[String(p.line)], [p.netns], [p.command, "cmd"], [withClient(p)], [p.expected || "-"], [p.pass === null ? "-" : p.pass ? "pass" : "FAIL", p.pass === null ? "" : p.pass ? "pass" : "fail"], [p.why || "", "why"]];
    cells.forEach(function (c) { h("td", c[1] || "", tr, c[0]); });
    tr.addEventListener("click", function () { selectProbe(i); });
    return tr;
  });
  var banner = document.getElementById("banner");
  banner.textContent = [data.skipped, data.error].filter(Boolean).join(" · ");

  // ---- the path of one probe ----------------------------------------------
  var hopList = document.getElementById("hop-list");
  var hopsTitle = document.getElementById("hops-title");
  var cur = -1, curHop = -1;

  function center(id) { var b = devs[id] && devs[id].box; return b ? { x: b.x, y: b.y } : null; }
  function nsCenterTop(ns) {
    var n = g.hasNode("ns:" + ns) ? g.node("ns:" + ns) : null;
    return n && n.width !== undefined ? { x: n.x + n.width / 2 - 10, y: n.y - n.height / 2 - 10 } : null;
  }

  function label(cls, x, y, text, full) {
    var grp = s("g", { class: cls }, overlay);
    s("title", {}, grp, full);
    var w = text.length * 6.2 + 8;
    s("rect", { x: x, y: y - 11, width: w, height: 15 }, grp);
    s("text", { x: x + 4, y: y }, grp, text);
    return grp;
  }

  function fit() {
    // The picture and whatever the path added around it (labels), with a margin.
    var a = base.getBBox(), b = overlay.getBBox();
    var x0 = Math.min(a.x, b.width ? b.x : a.x), y0 = Math.min(a.y, b.height ? b.y : a.y);
    var x1 = Math.max(a.x + a.width, b.width ? b.x + b.width : 0), y1 = Math.max(a.y + a.height, b.height ? b.y + b.height : 0);
    svg.setAttribute("viewBox", (x0 - 8) + " " + (y0 - 8) + " " + (x1 - x0 + 16) + " " + (y1 - y0 + 16));
  }

  function draw(p) {
    while (overlay.firstChild) overlay.removeChild(overlay.firstChild);
    Object.keys(devEls).forEach(function (id) { devEls[id].classList.remove("on-request", "on-reply", "current"); });
    var notes = {}; // per device (or namespace): NAT rewrites and drops, in order
    ["request", "reply"].forEach(function (dir, k) {
      var off = k === 0 ? -5 : 5;
      var seq = [];
      p.hops.forEach(function (hp) {
        if (hp.dir !== dir || !hp.dev || !devs[hp.dev]) return;
        if (seq[seq.length - 1] !== hp.dev) seq.push(hp.dev);
      });
      for (var i = 0; i + 1 < seq.length; i++) {
        var a = center(seq[i]), b = center(seq[i + 1]);
        // The normal of the segment taken in one fixed orientation, so that the two
        // directions over the same link sit on opposite sides of it.
        var flip = seq[i] < seq[i + 1] ? 1 : -1;
        var dx = (b.x - a.x) * flip, dy = (b.y - a.y) * flip, len = Math.sqrt(dx * dx + dy * dy) || 1;
        var nx = (-dy / len) * off, ny = (dx / len) * off;
        s("path", { class: "seg " + dir, "data-from": seq[i], "data-to": seq[i + 1], "marker-end": "url(#arrow-" + dir + ")", d: "M" + (a.x + nx) + "," + (a.y + ny) + " L" + (b.x + nx) + "," + (b.y + ny) }, overlay);
      }
      var seen = {};
      seq.forEach(function (id, i) {
        devEls[id].classList.add("on-" + dir);
        if (seen[id]) return;
        seen[id] = true;
        var bx = devs[id].box;
        var m = s("g", { class: "mark " + dir, "data-dev": id }, overlay);
        var cx = bx.x + bx.width / 2 - 2, cy = bx.y - bx.height / 2 + (k === 0 ? 2 : bx.height - 2);
        s("circle", { cx: cx, cy: cy, r: 7 }, m);
        s("text", { x: cx, y: cy + 3, "text-anchor": "middle" }, m, String(i + 1));
      });
      // NAT rewrites and the drop point, at the device the packet was last seen on.
      var last = null;
      p.hops.forEach(function (hp) {
        if (hp.dir !== dir) return;
        if (hp.dev && devs[hp.dev]) last = hp.dev;
        var nat = hp.step === "nat" || (hp.step === "ipvs" && /rewritten/.test(hp.detail));
        if (!nat && hp.step !== "drop") return;
        var where = hp.dev && devs[hp.dev] ? hp.dev : last;
        var key = where || "ns:" + hp.ns;
        (notes[key] = notes[key] || []).push({ hp: hp, dir: dir, where: where });
      });
    });
    // Annotations in a column right of the picture, each with a leader to its device.
    var right = base.getBBox().x + base.getBBox().width + 24, nextY = -Infinity;
    Object.keys(notes).map(function (key) {
      var at = key.indexOf("ns:") === 0 ? null : devs[key].box;
      var anchor = at ? { x: at.x + at.width / 2, y: at.y } : nsCenterTop(key.slice(3));
      return { key: key, at: at, anchor: anchor };
    }).filter(function (n) { return n.anchor; }).sort(function (a, b) { return a.anchor.y - b.anchor.y; }).forEach(function (n) {
      var at = n.at;
      notes[n.key].forEach(function (note, i) {
        var hp = note.hp;
        var y = Math.max(n.anchor.y - 4 + i * 17, nextY + 17);
        nextY = y;
        s("path", { class: "leader " + note.dir, d: "M" + n.anchor.x + "," + n.anchor.y + " L" + (right - 2) + "," + (y - 4) }, overlay);
        if (hp.step === "drop") {
          var reason = hp.detail.slice(hp.detail.indexOf(": ") + 2);
          var grp = label("drop " + note.dir, right, y, "✕ " + short(reason, 56), hp.detail);
          grp.setAttribute("data-dev", note.where || "");
          if (at) s("path", { d: "M" + (at.x - 8) + "," + (at.y - 8) + " L" + (at.x + 8) + "," + (at.y + 8) + " M" + (at.x + 8) + "," + (at.y - 8) + " L" + (at.x - 8) + "," + (at.y + 8) }, grp);
        } else {
          var t = hp.detail
            .replace(/^NAT: destination rewritten to (\S+).*/, "IPVS DNAT to $1")
            .replace(/^reply: source rewritten to (\S+).*/, "IPVS reply from $1")
            .replace(/ -> /g, " → ");
          label("nat " + note.dir, right, y, (note.dir === "request" ? "→ " : "← ") + short(t, 56), hp.detail).setAttribute("data-dev", note.where || "");
        }
      });
    });
    fit();
  }

  function listHops(p) {
    while (hopList.firstChild) hopList.removeChild(hopList.firstChild);
    hopsTitle.textContent = "line " + p.line + ": " + p.command + " → " + p.outcome + (p.hops.length ? " (first packet and first reply; " + p.events + " events in all)" : "");
    if (!p.hops.length) { h("li", "empty", hopList, "no trace for this probe"); return; }
    p.hops.forEach(function (hp, i) {
      var li = h("li", hp.dir + " s-" + hp.step, hopList);
      li.dataset.index = String(i);
      li.dataset.dev = hp.dev || "";
      h("span", "step", li, hp.step);
      h("span", "where", li, "#" + hp.pkt + " " + (hp.dev || hp.ns));
      li.appendChild(document.createTextNode(hp.detail));
      li.addEventListener("click", function () { selectHop(i); });
    });
  }

  function selectProbe(i) {
    if (i < 0 || i >= rows.length) return;
    if (cur >= 0) rows[cur].setAttribute("aria-selected", "false");
    cur = i;
    curHop = -1;
    rows[i].setAttribute("aria-selected", "true");
    rows[i].focus({ preventScroll: true });
    rows[i].scrollIntoView({ block: "nearest" });
    var p = data.probes[i];
    draw(p);
    listHops(p);
    history.replaceState(null, "", "#line=" + p.line + "&i=" + i);
  }

  function selectHop(i) {
    var p = data.probes[cur];
    if (!p || i < 0 || i >= p.hops.length) return;
    var items = hopList.children;
    if (curHop >= 0 && items[curHop]) items[curHop].classList.remove("current");
    Object.keys(devEls).forEach(function (id) { devEls[id].classList.remove("current"); });
    Object.keys(nsEls).forEach(function (ns) { nsEls[ns].classList.remove("current"); });
    curHop = i;
    items[i].classList.add("current");
    items[i].scrollIntoView({ block: "nearest" });
    var hp = p.hops[i];
    if (hp.dev && devEls[hp.dev]) devEls[hp.dev].classList.add("current");
    else if (nsEls[hp.ns]) nsEls[hp.ns].classList.add("current");
  }

  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var k = e.key;
    if (k === "ArrowDown" || k === "j") selectProbe(cur + 1);
    else if (k === "ArrowUp" || k === "k") selectProbe(cur - 1);
    else if (k === "ArrowRight" || k === "l") selectHop(curHop + 1);
    else if (k === "ArrowLeft" || k === "h") selectHop(curHop - 1);
    else if (k === "Home") selectProbe(0);
    else if (k === "End") selectProbe(rows.length - 1);
    else return;
    e.preventDefault();
  });

  // #line=N (and &i=K) selects a probe; otherwise the first one.
  var m = /line=(\d+)/.exec(location.hash), mi = /[&#]i=(\d+)/.exec(location.hash);
  var start = 0;
  if (mi && +mi[1] < rows.length) start = +mi[1];
  else if (m) rows.forEach(function (r, i) { if (r.dataset.line === m[1] && start === 0 && +m[1] !== data.probes[0].line) start = i; });
  if (rows.length) selectProbe(start);
  document.body.dataset.ready = "1";
})();
