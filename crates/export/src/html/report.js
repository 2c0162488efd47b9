// goroscope's HTML report: sortable tables and the zoomable overview timeline (drawn as SVG
// from the embedded #timeline-data). No library, no network.
(function () {
  'use strict';

  function fmtDur(ns) {
    var a = Math.abs(ns);
    if (a < 1e3) return Math.round(ns) + ' ns';
    if (a < 1e6) return (ns / 1e3).toPrecision(3) + ' µs';
    if (a < 1e9) return (ns / 1e6).toPrecision(3) + ' ms';
    return (ns / 1e9).toPrecision(3) + ' s';
  }

  // --- tables: a click on a column title sorts by it (largest first, then smallest first) ---
  function sortKey(cell) {
    return cell ? cell.getAttribute('data-sort') || '' : '';
  }
  function isNum(s) {
    return s !== '' && isFinite(s);
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    var head = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(head, function (th, col) {
      th.addEventListener('click', function () {
        var dir = th.getAttribute('data-dir') === 'desc' ? 'asc' : 'desc';
        Array.prototype.forEach.call(head, function (h) { h.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = sortKey(a.cells[col]), y = sortKey(b.cells[col]);
          var c = isNum(x) && isNum(y) ? Number(x) - Number(y) : (x < y ? -1 : x > y ? 1 : 0);
          return dir === 'asc' ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  // --- the overview timeline ---
  var dataEl = document.getElementById('timeline-data');
  var host = document.getElementById('timeline-chart');
  var range = document.getElementById('timeline-range');
  if (!dataEl || !host) {
    document.body.setAttribute('data-ready', '1');
    return;
  }
  var data = JSON.parse(dataEl.textContent);
  // The SVG namespace, taken from the parser rather than written out.
  var probe = document.createElement('div');
  probe.innerHTML = '<svg></svg>';
  var SVG = probe.firstChild.namespaceURI;
  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function tip(e, text) {
    el('title', {}, e).textContent = text;
  }

  var tracks = data.tracks || [];
  var dur = Math.max(1, data.duration_ns || 0);
  var byTrack = tracks.map(function () { return []; });
  (data.slices || []).forEach(function (s) {
    if (byTrack[s[0]]) byTrack[s[0]].push(s);
  });
  byTrack.forEach(function (list) { list.sort(function (a, b) { return a[1] - b[1]; }); });
  var functions = data.functions || [];
  var goroutines = data.goroutines || {};
  function goName(goid) {
    var f = goroutines[goid];
    return 'G' + goid + (f === undefined ? '' : ' ' + functions[f]);
  }
  function goColor(goid) {
    return 'hsl(' + ((goid * 137.508) % 360).toFixed(0) + ',55%,52%)';
  }

  var v0 = 0, v1 = dur;
  // A view given in the address: #t=START,END (ns since the start of the trace).
  var m = /^#t=(\d+),(\d+)$/.exec(window.location.hash);
  if (m && Number(m[2]) > Number(m[1])) {
    v0 = Math.max(0, Math.min(Number(m[1]), dur - 1));
    v1 = Math.min(dur, Math.max(Number(m[2]), v0 + 1));
  }
  var L = 130, ROW = 16, GAP = 3, TOP = 22;

  function niceStep(raw) {
    var p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
    var m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function drawSlices(g, list, y, k, isP) {
    var cur = null;
    function flush() {
      if (!cur) return;
      var r = el('rect', {
        x: cur.x0.toFixed(1), y: y, width: Math.max(1, cur.x1 - cur.x0).toFixed(1), height: ROW,
        fill: isP ? goColor(cur.goid) : 'var(--on)'
      }, g);
      tip(r, cur.n > 1 ? cur.n + ' slices, ' + fmtDur(cur.busy) + ' busy'
        : (isP ? goName(cur.goid) + ', ' : 'on CPU ') + fmtDur(cur.busy) + ' at ' + fmtDur(cur.start));
      if (cur.inv && cur.n === 1 && cur.x1 - cur.x0 >= 4) {
        el('rect', { x: (cur.x1 - 2).toFixed(1), y: y, width: 2, height: ROW, fill: '#c0392b' }, g);
      }
      cur = null;
    }
    for (var i = 0; i < list.length; i++) {
      var s = list[i], start = s[1], end = s[1] + s[2];
      if (end < v0) continue;
      if (start > v1) break;
      var x0 = L + (Math.max(start, v0) - v0) * k, x1 = L + (Math.min(end, v1) - v0) * k;
      if (cur && x0 - cur.x1 < 1 && (x1 - x0 < 1 || cur.x1 - cur.x0 < 1)) {
        cur.x1 = Math.max(cur.x1, x1); cur.n++; cur.busy += s[2];
        continue;
      }
      flush();
      cur = { x0: x0, x1: x1, goid: s[3], n: 1, busy: s[2], start: start, inv: s[4] === 1 };
    }
    flush();
  }

  function drawBins(g, bins, y, k, width) {
    var bw = data.bin_ns * k;
    var cols = {};
    for (var j = 0; j < bins.length; j++) {
      var t0 = j * data.bin_ns, t1 = t0 + data.bin_ns;
      if (t1 < v0 || t0 > v1 || bins[j] === 0) continue;
      if (bw >= 1) {
        var h = ROW * bins[j] / 1000;
        var r = el('rect', {
          x: (L + (t0 - v0) * k).toFixed(1), y: (y + ROW - h).toFixed(1),
          width: bw.toFixed(1), height: h.toFixed(1), fill: 'var(--accent)'
        }, g);
        tip(r, (bins[j] / 10).toFixed(1) + ' % busy at ' + fmtDur(t0));
      } else {
        var c = Math.floor((t0 - v0) * k);
        cols[c] = cols[c] || [0, 0];
        cols[c][0] += bins[j]; cols[c][1]++;
      }
    }
    var per = 1 / Math.max(bw, 1e-9);
    Object.keys(cols).forEach(function (c) {
      var v = cols[c][0] / Math.max(per, cols[c][1]);
      var h = ROW * v / 1000;
      el('rect', { x: L + Number(c), y: (y + ROW - h).toFixed(1), width: 1, height: h.toFixed(1),
        fill: 'var(--accent)' }, g);
    });
  }

  function draw() {
    var W = Math.max(600, host.clientWidth || 1000);
    var PW = W - L - 10;
    var k = PW / (v1 - v0);
    var H = TOP + tracks.length * (ROW + GAP) + 6;
    var svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
    var step = niceStep((v1 - v0) / 8);
    for (var t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
      var x = L + (t - v0) * k;
      el('line', { x1: x, y1: TOP - 4, x2: x, y2: H, stroke: '#d5dae2' }, svg);
      el('text', { x: x + 2, y: 12 }, svg).textContent = fmtDur(t);
    }
    tracks.forEach(function (tr, i) {
      var y = TOP + i * (ROW + GAP);
      var g = el('g', { 'class': 'track ' + tr.kind }, svg);
      el('text', { x: 4, y: y + 12 }, g).textContent = tr.label;
      el('rect', { x: L, y: y, width: PW, height: ROW, fill: '#fff' }, g);
      if (data.slices) drawSlices(g, byTrack[i], y, k, tr.kind === 'p');
      else drawBins(g, tr.bins, y, k, PW);
    });
    // Stop-the-world pauses: a band across every row.
    (data.pauses || []).forEach(function (p) {
      var start = p[0], end = p[0] + p[1];
      if (end < v0 || start > v1 || !tracks.length) return;
      var x0 = L + (Math.max(start, v0) - v0) * k, x1 = L + (Math.min(end, v1) - v0) * k;
      var band = el('rect', { 'class': 'stw', x: x0.toFixed(1), y: TOP - 4,
        width: Math.max(1, x1 - x0).toFixed(1), height: H - TOP + 4 }, svg);
      tip(band, 'stop-the-world (' + (data.pause_reasons[p[2]] || '') + '): ' + fmtDur(p[1]) +
        ' at ' + fmtDur(start));
    });
    if (!tracks.length) {
      el('text', { x: 10, y: 40 }, svg).textContent = 'No P runs or thread slices recorded.';
    }
    while (host.firstChild) host.removeChild(host.firstChild);
    host.appendChild(svg);
    if (range) range.textContent = fmtDur(v0) + ' – ' + fmtDur(v1) + ' of ' + fmtDur(dur);
  }

  function zoom(f, center) {
    var span = Math.min(dur, Math.max(1000, (v1 - v0) * f));
    var c = center === undefined ? (v0 + v1) / 2 : center;
    var a = c - (c - v0) * span / (v1 - v0);
    a = Math.max(0, Math.min(a, dur - span));
    v0 = a; v1 = a + span;
    draw();
  }
  function timeAt(clientX) {
    var rect = host.getBoundingClientRect();
    var PW = Math.max(600, host.clientWidth || 1000) - L - 10;
    return v0 + (clientX - rect.left - L) * (v1 - v0) / PW;
  }
  host.addEventListener('wheel', function (e) {
    e.preventDefault();
    zoom(e.deltaY < 0 ? 0.8 : 1.25, timeAt(e.clientX));
  }, { passive: false });
  var drag = null;
  host.addEventListener('mousedown', function (e) { drag = { x: e.clientX, v0: v0 }; });
  window.addEventListener('mouseup', function () { drag = null; });
  window.addEventListener('mousemove', function (e) {
    if (!drag) return;
    var PW = Math.max(600, host.clientWidth || 1000) - L - 10;
    var span = v1 - v0;
    var a = drag.v0 - (e.clientX - drag.x) * span / PW;
    v0 = Math.max(0, Math.min(a, dur - span)); v1 = v0 + span;
    draw();
  });
  host.addEventListener('dblclick', function () { v0 = 0; v1 = dur; draw(); });
  Array.prototype.forEach.call(document.querySelectorAll('button[data-zoom]'), function (b) {
    b.addEventListener('click', function () {
      var z = b.getAttribute('data-zoom');
      if (z === 'reset') { v0 = 0; v1 = dur; draw(); } else zoom(z === 'in' ? 0.5 : 2);
    });
  });
  window.addEventListener('resize', draw);
  draw();
  document.body.setAttribute('data-ready', '1');
})();
