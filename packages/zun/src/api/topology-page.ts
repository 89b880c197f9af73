/**
 * The live topology page: one self-contained HTML document (inline CSS and
 * JS, no external assets, no framework) that polls GET /v1/topology every few
 * seconds and draws it as SVG: Neutron networks on top, a box per compute host
 * below (health dot, its Docker networks, its containers and their ports),
 * lines from each Neutron network to its Docker networks and from each Docker
 * network to the ports on it. Polling, not SSE: EventSource cannot send the
 * X-Auth-Token header, fetch can.
 *
 * Authentication: the page is public (it holds no data); its fetches carry
 * the token. Asked for once on a 401, kept in sessionStorage (this tab only,
 * gone when it closes), sent as X-Auth-Token, never in a URL; "Forget token"
 * drops it. In noauth mode no token is asked for. Every string from the API
 * is set with textContent (never parsed as markup), and the CSP allows only
 * this script and style (by hash) and fetches to the same origin.
 */
import { createHash } from 'node:crypto';

/** Where the page is served (outside /v1: it is not an API resource and needs no token). */
export const TOPOLOGY_PAGE = '/topology';

const STYLE = String.raw`
body { margin: 0; font: 14px system-ui, sans-serif; color: #1d2733; background: #f4f6f9; }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 18px; background: #1d2733; color: #fff; }
header h1 { font-size: 17px; margin: 0 12px 0 0; font-weight: 600; }
header .meta { font-size: 13px; opacity: .85; }
header button { font: inherit; font-size: 12px; padding: 3px 10px; border-radius: 4px; border: 1px solid #8895a7; background: transparent; color: #fff; cursor: pointer; }
#status { font-size: 13px; opacity: .85; }
#status.bad, .meta.bad { color: #ff8a80; }
#login { margin: 60px auto; max-width: 420px; padding: 22px; background: #fff; border-radius: 8px; box-shadow: 0 2px 10px rgba(0,0,0,.12); }
#login input { width: 100%; box-sizing: border-box; padding: 7px; margin: 10px 0; font: inherit; }
#login button { font: inherit; padding: 6px 16px; }
#legend { padding: 6px 18px; font-size: 12px; color: #4a5768; }
#legend span { margin-right: 14px; }
#legend i.ok { background: #2e9d4f; }
#legend i.bad { background: #d64541; }
#legend i.wait { background: #e0a100; }
#legend i.unk { background: #9aa5b1; }
#legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px; }
main { padding: 0 10px 20px; overflow: auto; }
svg text { font-family: system-ui, sans-serif; fill: #1d2733; }
svg .mono { font-family: ui-monospace, monospace; font-size: 11px; fill: #3b4756; }
svg .small { font-size: 11px; fill: #4a5768; }
svg .title { font-weight: 600; font-size: 13px; }
svg .pill { font-size: 11px; fill: #fff; }
svg .empty { font-size: 15px; fill: #4a5768; }
[hidden] { display: none !important; }
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var KEY = 'zun-topology-token';
  var POLL_MS = 3000;
  var NS = 'http://www.w3.org/2000/svg';
  var PALETTE = ['#2b7bb9', '#8e44ad', '#16a085', '#d35400', '#c0392b', '#2c3e50', '#7d8c1d', '#b03a70'];
  var HOST_COLOR = { up: '#2e9d4f', down: '#d64541', unknown: '#9aa5b1' };
  var PORT_COLOR = { ACTIVE: '#2e9d4f', DOWN: '#d64541', ERROR: '#d64541', BUILD: '#e0a100' };
  var CONTAINER_COLOR = { Running: '#2e9d4f', Created: '#2b7bb9', Stopped: '#7b8794', Creating: '#e0a100', Deleting: '#e0a100', Error: '#d64541' };
  var $ = function (id) { return document.getElementById(id); };
  var last = '';
  var timer = null;

  function el(name, attrs, parent, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function tip(e, text) { el('title', {}, e, text); return e; }
  function shortId(id) { return id ? String(id).slice(0, 8) : ''; }
  function status(text, bad) { var s = $('status'); s.textContent = text; s.className = bad ? 'bad' : ''; }

  function headers() {
    var h = { Accept: 'application/json' };
    var t = sessionStorage.getItem(KEY);
    if (t) h['X-Auth-Token'] = t;
    return h;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, POLL_MS);
  }

  function poll() {
    if (document.hidden) { schedule(); return; }
    fetch('/v1/topology', { headers: headers(), cache: 'no-store', credentials: 'omit' }).then(function (res) {
      if (res.status === 401) { askToken(sessionStorage.getItem(KEY) ? 'The token was refused (expired?). Enter a new one.' : ''); return null; }
      if (!res.ok) {
        return res.text().then(function (t) {
          var msg = 'HTTP ' + res.status;
          try { var e = JSON.parse(t).errors[0]; msg += ': ' + e.detail; } catch (x) { /* not Zun's error body */ }
          status(msg, true);
          schedule();
          return null;
        });
      }
      return res.text();
    }).then(function (text) {
      if (text === null || text === undefined) return;
      $('login').hidden = true;
      $('view').hidden = false;
      if (text !== last) { last = text; draw(JSON.parse(text)); }
      status('updated ' + new Date().toLocaleTimeString(), false);
      schedule();
    }).catch(function (err) {
      status('zun-api unreachable (' + err.message + '); retrying', true);
      schedule();
    });
  }

  function askToken(why) {
    clearTimeout(timer);
    last = '';
    $('view').hidden = true;
    $('login').hidden = false;
    $('why').textContent = why || 'zun-api needs a Keystone token (openstack token issue -f value -c id).';
    $('token').value = '';
    $('token').focus();
    status('not signed in', true);
  }

  function layout(t) {
    var M = 20, HW = 420, HG = 30, NW = 230, NH = 74, NG = 24;
    var colors = {};
    t.networks.forEach(function (n, i) { colors[n.uuid] = PALETTE[i % PALETTE.length]; colors[n.neutronNetId] = colors[n.uuid]; });
    var hosts = t.hosts.map(function (h) { return { h: h, containers: [] }; });
    var byName = {};
    hosts.forEach(function (x) { byName[x.h.name] = x; });
    t.containers.forEach(function (c) {
      var key = c.host || '(not placed)';
      if (!byName[key]) { byName[key] = { h: { name: key, state: 'unknown', checkedAt: null }, containers: [] }; hosts.push(byName[key]); }
      byName[key].containers.push(c);
    });
    var y0 = M, hy = M + NH + 90;
    hosts.forEach(function (x, i) {
      x.x = M + i * (HW + HG); x.y = hy; x.w = HW;
      x.chips = [];
      t.networks.forEach(function (n) {
        n.dockerNetworks.forEach(function (d) { if (d.host === x.h.name) x.chips.push({ net: n, d: d }); });
      });
      var per = Math.max(1, Math.floor((HW - 20) / 130));
      var cw = Math.min(190, (HW - 20 - (per - 1) * 8) / Math.min(per, Math.max(1, x.chips.length)));
      x.chips.forEach(function (c, j) {
        c.x = x.x + 10 + (j % per) * (cw + 8); c.y = x.y + 44 + Math.floor(j / per) * 44; c.w = cw; c.h = 36;
      });
      var rows = Math.ceil(x.chips.length / per);
      var cy = x.y + 44 + rows * 44 + 18 + x.chips.length * 5;
      x.lane0 = x.x + 10;
      x.cards = x.containers.map(function (c) {
        var card = { c: c, x: x.x + 26 + x.chips.length * 5, y: cy, h: 40 + 36 * c.ports.length };
        card.w = x.x + HW - 10 - card.x;
        cy += card.h + 12;
        return card;
      });
      x.h2 = Math.max(cy - x.y + 6, 120);
    });
    var nets = t.networks.map(function (n, i) { return { n: n, x: M + i * (NW + NG), y: y0, w: NW, h: NH }; });
    var width = Math.max(M * 2 + hosts.length * (HW + HG), M * 2 + nets.length * (NW + NG), 600);
    var height = hy + Math.max.apply(null, [140].concat(hosts.map(function (x) { return x.h2; }))) + M;
    return { hosts: hosts, nets: nets, colors: colors, width: width, height: height };
  }

  function draw(t) {
    var scope = t.scope.allProjects ? 'all projects (admin, project ' + t.scope.projectId + ')' : 'project ' + t.scope.projectId;
    $('scope').textContent = scope;
    $('neutron').textContent = t.neutron.reachable ? 'Neutron: reachable' : 'Neutron: unreachable (' + t.neutron.error + ')';
    $('neutron').className = t.neutron.reachable ? 'meta' : 'meta bad';
    var L = layout(t);
    var svg = el('svg', { xmlns: NS, width: L.width, height: L.height, viewBox: '0 0 ' + L.width + ' ' + L.height, role: 'img', 'aria-label': 'topology of ' + scope });
    el('rect', { x: 0, y: 0, width: L.width, height: L.height, fill: '#f4f6f9' }, svg);
    var under = el('g', { 'class': 'hosts' }, svg);
    var edges = el('g', { 'class': 'edges', fill: 'none' }, svg);
    var boxes = el('g', { 'class': 'boxes' }, svg);
    if (t.networks.length === 0 && t.containers.length === 0) {
      el('text', { x: 24, y: 60, 'class': 'empty' }, boxes, 'No networks or containers in ' + scope + '.');
    }
    var netPos = {};
    L.nets.forEach(function (b) {
      var n = b.n, col = L.colors[n.uuid];
      netPos[n.uuid] = b;
      var g = el('g', { 'data-kind': 'network', 'data-name': n.name, 'data-id': n.uuid }, boxes);
      tip(el('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 8, fill: '#fff', stroke: col, 'stroke-width': 2.5 }, g),
        'Zun network ' + n.uuid + ' (project ' + n.projectId + '), Neutron network ' + n.neutronNetId);
      el('rect', { x: b.x, y: b.y, width: 8, height: b.h, rx: 3, fill: col }, g);
      el('text', { x: b.x + 16, y: b.y + 20, 'class': 'title' }, g, n.name);
      var nn = n.neutron;
      el('text', { x: b.x + 16, y: b.y + 38, 'class': 'small' }, g, 'Neutron ' + (nn ? nn.name + ' · ' + nn.status + (nn.shared ? ' · shared' : '') : 'network ' + shortId(n.neutronNetId) + ' · unknown'));
      el('text', { x: b.x + 16, y: b.y + 56, 'class': 'mono' }, g, 'net ' + shortId(n.neutronNetId) + (t.scope.allProjects ? '  project ' + shortId(n.projectId) : ''));
    });
    L.hosts.forEach(function (x) {
      var h = x.h, hc = HOST_COLOR[h.state] || HOST_COLOR.unknown;
      var g = el('g', { 'data-kind': 'host', 'data-name': h.name, 'data-state': h.state }, under);
      tip(el('rect', { x: x.x, y: x.y, width: x.w, height: x.h2, rx: 10, fill: '#e9edf2', stroke: hc, 'stroke-width': h.state === 'down' ? 3 : 1.5, 'stroke-dasharray': h.state === 'down' ? '8 5' : 'none' }, g),
        'compute host ' + h.name + ': ' + h.state + (h.endpoint ? ' · ' + h.endpoint : '') + (h.reason ? ' · ' + h.reason : '') + (h.checkedAt ? ' · checked ' + h.checkedAt : ''));
      el('circle', { cx: x.x + 20, cy: x.y + 20, r: 7, fill: hc }, g);
      el('text', { x: x.x + 34, y: x.y + 25, 'class': 'title' }, g, h.name);
      el('text', { x: x.x + x.w - 12, y: x.y + 25, 'class': 'small', 'text-anchor': 'end' }, g, 'host ' + h.state);
      x.chips.forEach(function (c, j) {
        var col = L.colors[c.net.uuid];
        var cg = el('g', { 'data-kind': 'docker-network', 'data-name': c.net.name, 'data-host': h.name }, boxes);
        tip(el('rect', { x: c.x, y: c.y, width: c.w, height: c.h, rx: 5, fill: '#fff', stroke: col, 'stroke-width': 1.5 }, cg),
          'Docker network ' + c.d.dockerName + ' on ' + h.name + (c.d.dockerId ? ' (id ' + c.d.dockerId.slice(0, 12) + ')' : ' (not made yet)'));
        el('text', { x: c.x + 8, y: c.y + 15, 'class': 'small' }, cg, 'docker · ' + c.net.name);
        el('text', { x: c.x + 8, y: c.y + 29, 'class': 'mono' }, cg, c.d.dockerId ? c.d.dockerId.slice(0, 12) : 'pending');
        var nb = netPos[c.net.uuid];
        if (nb) {
          var sx = nb.x + nb.w / 2, sy = nb.y + nb.h, ex = c.x + c.w / 2, ey = c.y;
          el('path', { d: 'M' + sx + ' ' + sy + ' C' + sx + ' ' + (sy + 60) + ' ' + ex + ' ' + (ey - 60) + ' ' + ex + ' ' + ey, stroke: col, 'stroke-width': 2.5, opacity: 0.8 }, edges);
        }
        c.lane = x.lane0 + j * 5;
        c.turn = x.cards.length ? x.cards[0].y - 10 - j * 5 : 0;
      });
      x.cards.forEach(function (card) {
        var c = card.c, sc = CONTAINER_COLOR[c.status] || '#7b8794';
        var kg = el('g', { 'data-kind': 'container', 'data-name': c.name, 'data-id': c.uuid, 'data-status': c.status }, boxes);
        tip(el('rect', { x: card.x, y: card.y, width: card.w, height: card.h, rx: 7, fill: '#fff', stroke: '#b8c2cf' }, kg),
          'container ' + c.uuid + ' (project ' + c.projectId + ')');
        el('text', { x: card.x + 12, y: card.y + 22, 'class': 'title' }, kg, c.name);
        var pill = el('g', {}, kg);
        el('rect', { x: card.x + card.w - 84, y: card.y + 8, width: 74, height: 20, rx: 10, fill: sc }, pill);
        el('text', { x: card.x + card.w - 47, y: card.y + 22, 'text-anchor': 'middle', 'class': 'pill' }, pill, c.status);
        c.ports.forEach(function (p, k) {
          var py = card.y + 40 + k * 36, pc = PORT_COLOR[p.status] || '#9aa5b1';
          var pg = el('g', { 'data-kind': 'port', 'data-id': p.portId, 'data-status': p.status }, kg);
          tip(el('circle', { cx: card.x + 14, cy: py + 8, r: 6, fill: pc }, pg), 'port ' + p.portId + ': ' + p.status);
          el('text', { x: card.x + 26, y: py + 12, 'class': 'mono' }, pg, (p.addresses.join(', ') || 'no address') + '  port ' + shortId(p.portId));
          el('text', { x: card.x + 26, y: py + 27, 'class': 'mono' }, pg, p.macAddress + ' · ' + p.status + ' · ' + (p.bindingHost ? 'bound ' + p.bindingHost : 'unbound'));
          var chip = null;
          x.chips.forEach(function (ch) { if (ch.net.uuid === p.networkUuid || ch.net.neutronNetId === p.neutronNetId) chip = ch; });
          if (chip) {
            var col = L.colors[chip.net.uuid];
            var cx = chip.x + chip.w / 2, cy = chip.y + chip.h;
            el('path', { d: 'M' + cx + ' ' + cy + ' V' + chip.turn + ' H' + chip.lane + ' V' + (py + 8) + ' H' + (card.x + 8), stroke: col, 'stroke-width': 2, 'stroke-dasharray': p.status === 'ACTIVE' ? 'none' : '5 4' }, edges);
          }
        });
      });
    });
    var view = $('view');
    while (view.firstChild) view.removeChild(view.firstChild);
    view.appendChild(svg);
  }

  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = $('token').value.trim();
    if (!t) return;
    sessionStorage.setItem(KEY, t);
    $('token').value = '';
    status('signing in…', false);
    poll();
  });
  $('forget').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    askToken('Token forgotten.');
    poll();
  });
  document.addEventListener('visibilitychange', function () { if (!document.hidden) poll(); });
  poll();
})();
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Content-Security-Policy of the page: nothing but its own inline script and style, fetches to zun-api. */
export const TOPOLOGY_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const TOPOLOGY_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>zun topology</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>zun topology</h1>
<span class="meta" id="scope"></span>
<span class="meta" id="neutron"></span>
<span id="status">loading…</span>
<button type="button" id="forget">Forget token</button>
</header>
<div id="legend">
<span><i class="ok"></i>host up / port ACTIVE</span>
<span><i class="bad"></i>host down / port DOWN or ERROR</span>
<span><i class="wait"></i>port BUILD</span>
<span><i class="unk"></i>unknown</span>
<span>dashed line: port not ACTIVE · coloured lines: Neutron network → Docker network per host → port</span>
</div>
<form id="login" hidden>
<strong>Sign in</strong>
<p id="why"></p>
<input id="token" type="password" autocomplete="off" placeholder="Keystone token" aria-label="Keystone token">
<button type="submit">Show topology</button>
</form>
<main id="view" hidden></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
