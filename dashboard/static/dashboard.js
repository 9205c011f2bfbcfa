/* Renders the dashboard's pages from their JSON documents and polls the feeds
   while an election runs. No library: the map's shapes are already in the page. */
(function () {
  "use strict";

  var PARTIES = ["DEM", "REP", "OTH"];
  var PARTY_NAMES = { DEM: "Democratic", REP: "Republican", OTH: "Other" };
  var SVG_NS = "http://www.w3.org/2000/svg";
  var state = { by: "synced", timelines: {}, failures: 0 };

  /* formatting */

  function fmtInt(n) {
    return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
  }

  function fmtPct(x) {
    return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%";
  }

  function fmtStamp(iso) {
    if (!iso) { return "–"; }
    return iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
  }

  function partyKey(unit) {
    if (!unit) { return "none"; }
    if (unit.is_tie) { return "tie"; }
    return unit.winner ? unit.winner.toLowerCase() : "none";
  }

  function resultText(unit) {
    var key = partyKey(unit);
    if (key === "tie") { return "Tie"; }
    if (key === "none") { return "No votes"; }
    return unit.winner;
  }

  /* DOM helpers */

  function byId(id) { return document.getElementById(id); }

  function setText(id, text) {
    var node = byId(id);
    if (node) { node.textContent = text; }
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; }
      else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function setPartyClass(node, key) {
    Array.prototype.slice.call(node.classList).forEach(function (name) {
      if (name.indexOf("party-") === 0) { node.classList.remove(name); }
    });
    node.classList.add("party-" + key);
  }

  function badge(key, text) {
    return el("span", { "class": "badge party-" + key, text: text });
  }

  function cell(text, className) {
    return el("td", className ? { "class": className, text: text } : { text: text });
  }

  function stateLink(code, name) {
    var election = document.body.dataset.election;
    if (!document.body.dataset.stateBase) { return document.createTextNode(name); }
    var href = document.body.dataset.stateBase.replace("__CODE__", code) +
      "?election=" + encodeURIComponent(election);
    return el("a", { href: href, text: name });
  }

  function setWidth(container, seg, value, total) {
    var node = container && container.querySelector('[data-seg="' + seg + '"]');
    if (node) { node.style.width = (total ? (100 * value) / total : 0) + "%"; }
  }

  /* the map */

  function paintUnits(units, names) {
    units.forEach(function (unit) {
      var key = partyKey(unit);
      var nodes = document.querySelectorAll('[data-unit="' + unit.unit + '"]');
      Array.prototype.forEach.call(nodes, function (node) {
        setPartyClass(node, key);
        node.setAttribute("data-winner", key);
        var title = node.querySelector("title");
        if (title) {
          var name = unit.district ? unit.unit : (names[unit.state] || unit.state);
          title.textContent = name + ": " + resultText(unit) + " · " +
            unit.electoral_votes + " EV · DEM " + fmtInt(unit.votes.DEM) +
            ", REP " + fmtInt(unit.votes.REP) + ", OTH " + fmtInt(unit.votes.OTH);
        }
      });
      var labels = document.querySelectorAll('[data-label-for="' + unit.unit + '"]');
      Array.prototype.forEach.call(labels, function (label) {
        label.classList.toggle("on-dark", key !== "none");
      });
    });
  }

  /* the national page */

  function renderNational(doc) {
    var names = {};
    doc.states.forEach(function (row) { names[row.code] = row.name; });
    setText("headline", doc.election.name || doc.election.id);
    renderWinnerLine(doc);
    renderTally(doc.electoral);
    renderPopular(doc.popular);
    renderTurnout(doc.turnout);
    paintUnits(doc.units, names);
    renderStatesTable(doc.states);
    markUpdated(doc.published_at);
  }

  function renderWinnerLine(doc) {
    var line = byId("winner-line");
    if (!line) { return; }
    line.textContent = "";
    if (doc.winner) {
      var votes = 0;
      doc.electoral.parties.forEach(function (p) {
        if (p.party === doc.winner.party) { votes = p.electoral_votes; }
      });
      line.appendChild(el("strong", {
        text: (doc.winner.candidate || PARTY_NAMES[doc.winner.party]) +
          " (" + doc.winner.party + ")"
      }));
      line.appendChild(document.createTextNode(
        " wins with " + votes + " electoral votes."));
    } else {
      line.textContent = "No candidate has " + doc.electoral.to_win +
        " electoral votes yet; " + fmtInt(doc.popular.total) + " ballots counted.";
    }
  }

  function renderTally(electoral) {
    var bar = byId("tally-bar");
    electoral.parties.forEach(function (p) {
      setText("ev-" + p.party, fmtInt(p.electoral_votes));
      setText("ev-name-" + p.party, p.candidate || PARTY_NAMES[p.party]);
      setWidth(bar, p.party, p.electoral_votes, electoral.total);
    });
    setText("ev-unassigned", fmtInt(electoral.unassigned));
    setText("to-win-mark-label", "\u25B2 " + electoral.to_win + " to win");
  }

  function renderPopular(popular) {
    var bar = byId("pv-bar");
    popular.parties.forEach(function (p) {
      setText("pv-name-" + p.party, p.candidate || PARTY_NAMES[p.party]);
      setText("pv-" + p.party, fmtInt(p.votes));
      setText("pv-share-" + p.party, fmtPct(p.share));
      setWidth(bar, p.party, p.votes, popular.total);
    });
    setText("pv-total", fmtInt(popular.total));
  }

  function renderTurnout(turnout) {
    if (!turnout) { return; }
    setText("turnout-rate", fmtPct(turnout.rate));
    setText("turnout-official", fmtPct(turnout.official_rate));
    setText("turnout-voted", fmtInt(turnout.voted));
    setText("turnout-eligible", fmtInt(turnout.eligible));
    setText("turnout-registered", fmtInt(turnout.registered));
    setText("turnout-removed", fmtInt(turnout.removed));
    setText("turnout-official-votes", fmtInt(turnout.official_votes));
    setText("turnout-official-eligible", fmtInt(turnout.official_eligible));
  }

  function renderStatesTable(states) {
    var body = document.querySelector("#states-table tbody");
    if (!body) { return; }
    var rows = states.map(function (row) {
      var key = partyKey({ winner: row.winner, is_tie: row.is_tie });
      var official = row.official_winner ? row.official_winner.toLowerCase() : "none";
      return el("tr", { "data-state": row.code }, [
        el("td", {}, [stateLink(row.code, row.name)]),
        cell(row.electoral_votes === null ? "–" : String(row.electoral_votes), "num"),
        el("td", {}, [badge(key, resultText({ winner: row.winner, is_tie: row.is_tie }))]),
        cell(fmtPct(row.shares.DEM), "num"),
        cell(fmtPct(row.shares.REP), "num"),
        cell(fmtPct(row.shares.OTH), "num"),
        cell(fmtInt(row.turnout.voted), "num"),
        cell(fmtInt(row.turnout.eligible), "num"),
        cell(fmtPct(row.turnout.rate), "num"),
        cell(fmtPct(row.turnout.official_rate), "num"),
        el("td", {}, [badge(official, row.official_winner || "–")])
      ]);
    });
    body.replaceChildren.apply(body, rows);
  }

  /* votes over time */

  function niceMax(value) {
    if (value <= 0) { return 1; }
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i += 1) {
      if (steps[i] * power >= value) { return steps[i] * power; }
    }
    return 10 * power;
  }

  function fmtAxisTime(ms, spanMs) {
    var iso = new Date(ms).toISOString();
    if (spanMs <= 36 * 3600 * 1000) { return iso.slice(11, 16); }
    return iso.slice(5, 10) + " " + iso.slice(11, 16);
  }

  function renderTimeline(doc) {
    var chart = byId("timeline");
    if (!chart || !doc) { return; }
    state.timelines[doc.by] = doc;
    if (doc.by !== state.by) { return; }
    chart.replaceChildren();
    var width = 900, height = 260, left = 64, right = 70, top = 14, bottom = 30;
    var points = doc.points || [];
    if (points.length < 2) {
      chart.appendChild(svg("text", {
        "class": "empty-note", x: width / 2, y: height / 2
      }, "Votes show here as the sync brings them into the warehouse."));
      return;
    }
    var times = points.map(function (p) { return Date.parse(p.t); });
    var t0 = times[0], t1 = times[times.length - 1];
    var span = Math.max(t1 - t0, 1);
    var last = points[points.length - 1];
    var yMax = niceMax(Math.max(last.DEM, last.REP, last.OTH, 1));
    function x(t) { return left + ((t - t0) / span) * (width - left - right); }
    function y(v) { return top + (1 - v / yMax) * (height - top - bottom); }

    for (var i = 0; i <= 4; i += 1) {
      var value = (yMax * i) / 4;
      chart.appendChild(svg("line", {
        "class": "grid-line", x1: left, x2: width - right, y1: y(value), y2: y(value)
      }));
      chart.appendChild(svg("text", {
        x: left - 6, y: y(value) + 4, "text-anchor": "end"
      }, fmtInt(Math.round(value))));
    }
    chart.appendChild(svg("line", {
      "class": "axis", x1: left, x2: width - right, y1: y(0), y2: y(0)
    }));
    [t0, t0 + span / 2, t1].forEach(function (t, index) {
      chart.appendChild(svg("text", {
        x: x(t), y: height - 8,
        "text-anchor": ["start", "middle", "end"][index]
      }, fmtAxisTime(t, span) + (index === 2 ? " UTC" : "")));
    });
    var ends = [];
    PARTIES.forEach(function (party) {
      // a step line: a count holds until the next bucket's ballots arrive
      var coords = [];
      points.forEach(function (p, index) {
        if (index > 0) {
          coords.push(x(times[index]).toFixed(1) + "," + y(points[index - 1][party]).toFixed(1));
        }
        coords.push(x(times[index]).toFixed(1) + "," + y(p[party]).toFixed(1));
      });
      chart.appendChild(svg("polyline", {
        "class": "line party-" + party.toLowerCase(),
        "data-party": party,
        points: coords.join(" ")
      }));
      ends.push({ party: party, y: y(last[party]) + 4 });
    });
    // keep the end labels apart when two lines finish close together
    ends.sort(function (a, b) { return a.y - b.y; });
    ends.forEach(function (end, index) {
      if (index > 0 && end.y - ends[index - 1].y < 14) { end.y = ends[index - 1].y + 14; }
      chart.appendChild(svg("text", {
        x: width - right + 6, y: end.y, "data-end-for": end.party
      }, end.party + " " + fmtInt(last[end.party])));
    });
  }

  function setupToggle() {
    var buttons = document.querySelectorAll(".toggle button[data-by]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        state.by = button.dataset.by;
        Array.prototype.forEach.call(buttons, function (other) {
          other.setAttribute("aria-pressed", String(other === button));
        });
        if (state.timelines[state.by]) { renderTimeline(state.timelines[state.by]); }
        if (refreshMs()) { refreshTimeline(); }
      });
    });
  }

  /* a state's page */

  function renderState(doc) {
    var statewide = doc.units.filter(function (u) { return u.district === null; })[0];
    var line = byId("winner-line");
    if (line && statewide) {
      var key = partyKey(statewide);
      line.textContent = "";
      line.appendChild(badge(key, resultText(statewide)));
      line.appendChild(document.createTextNode(
        " " + statewide.electoral_votes + " electoral votes" +
        (doc.units.length > 1 ? " statewide, 1 per district" : "") +
        " · " + fmtInt(statewide.total_votes) + " ballots · official winner " +
        (statewide.official_winner || "–")));
    }
    paintUnits(doc.units, {});
    var body = document.querySelector("#candidates tbody");
    if (body) {
      body.replaceChildren.apply(body, doc.candidates.map(function (c) {
        return el("tr", { "data-party": c.party }, [
          el("td", {}, [el("span", { "class": "swatch party-" + c.party.toLowerCase() })]),
          el("td", { "class": "who", text: c.candidate || PARTY_NAMES[c.party] }),
          cell(fmtInt(c.votes), "num"),
          cell(fmtPct(c.share), "num")
        ]);
      }));
    }
    setText("state-total", fmtInt(statewide ? statewide.total_votes : 0));
    renderTurnout(doc.turnout);
    var units = document.querySelector("#units-table tbody");
    if (units) {
      units.replaceChildren.apply(units, doc.units.map(function (u) {
        var official = u.official_winner ? u.official_winner.toLowerCase() : "none";
        var mismatch = u.winner_matches === false && partyKey(u) !== "none";
        return el("tr", { "data-unit-row": u.unit }, [
          cell(u.district === null ? u.state + " statewide" : u.unit),
          cell(String(u.electoral_votes), "num"),
          el("td", {}, [badge(partyKey(u), resultText(u))]),
          cell(fmtInt(u.votes.DEM), "num"),
          cell(fmtInt(u.votes.REP), "num"),
          cell(fmtInt(u.votes.OTH), "num"),
          cell(fmtInt(u.margin_votes), "num"),
          el("td", mismatch ? { "class": "mismatch" } : {}, [
            badge(official, u.official_winner || "–")
          ])
        ]);
      }));
    }
    markUpdated(doc.published_at);
  }

  /* polling */

  function refreshMs() { return Number(document.body.dataset.refreshMs || 0); }

  function markUpdated(publishedAt) {
    setText("updated-at", "results published " + fmtStamp(publishedAt));
  }

  function markFailure(message) {
    state.failures += 1;
    var dot = byId("live-dot");
    if (dot) { dot.className = "live-dot " + (state.failures > 2 ? "down" : "stale"); }
    setText("updated-at", message);
  }

  function markSuccess() {
    state.failures = 0;
    var dot = byId("live-dot");
    if (dot) { dot.className = "live-dot"; }
  }

  function feedUrl(name, extra) {
    var base = document.body.dataset["feed" + name];
    var query = "?election=" + encodeURIComponent(document.body.dataset.election);
    return base + query + (extra || "");
  }

  function getJson(url) {
    return fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.error || response.statusText); }
          return body;
        });
      });
  }

  function refreshTimeline() {
    return getJson(feedUrl("Timeline", "&by=" + state.by)).then(renderTimeline);
  }

  function refresh() {
    var page = document.body.dataset.page;
    var work;
    if (page === "national") {
      work = Promise.all([
        getJson(feedUrl("National")).then(renderNational),
        refreshTimeline()
      ]);
    } else if (page === "state") {
      work = getJson(feedUrl("State")).then(renderState);
    } else {
      return Promise.resolve();
    }
    return work.then(markSuccess, function (error) {
      markFailure("waiting for results: " + error.message);
    });
  }

  function schedule() {
    var every = refreshMs();
    if (!every) { return; }
    window.setTimeout(function () {
      if (document.hidden) { schedule(); return; }
      refresh().then(schedule, schedule);
    }, every);
  }

  function setupPicker() {
    var picker = byId("election-picker");
    if (!picker || picker.disabled) { return; }
    picker.addEventListener("change", function () {
      window.location.search = "?election=" + encodeURIComponent(picker.value);
    });
  }

  function start() {
    var initial = byId("initial-data");
    var data = initial ? JSON.parse(initial.textContent) : null;
    var page = document.body.dataset.page;
    setupPicker();
    if (data && page === "national") {
      setupToggle();
      renderNational(data.national);
      Object.keys(data.timelines || {}).forEach(function (by) {
        state.timelines[by] = data.timelines[by];
      });
      renderTimeline(state.timelines[state.by]);
    } else if (data && page === "state") {
      renderState(data.state);
    }
    document.body.setAttribute("data-rendered", "true");
    schedule();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
