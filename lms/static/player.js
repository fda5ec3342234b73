/* SCORM player: hosts the scorm-again runtime for the SCO in the content frame, moves between
 * SCOs, and delivers every commit to the server without loss (durable local queue + retry). */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("player-config").textContent);
  var root = document.getElementById("player");
  var frame = document.querySelector('iframe[name="scorm-content"]');
  var navBar = root.querySelector(".player-nav");
  var tocEl = document.getElementById("toc");
  var notice = root.querySelector(".save-notice");
  var v12 = cfg.version === "1.2";
  // SCORM 2004: scorm-again's sequencer decides what is delivered and which controls apply.
  var seqMode = !v12 && !!cfg.sequencing;
  var validity = null;
  var NAV = [
    ["previous", "Bài trước"], ["continue", "Tiếp tục"], ["exit", "Thoát bài"],
    ["suspendAll", "Tạm dừng"], ["exitAll", "Kết thúc"],
    ["abandon", "Bỏ bài"], ["abandonAll", "Bỏ tất cả"]
  ];

  /* ---------------- durable commit queue ---------------- */
  var QKEY = "hp-lms:pending:" + cfg.attempt;
  var memoryQueue = {};
  var localSeq = 0;
  var failures = 0;
  var retryTimer = null;
  var flushing = null;

  function readQueue() {
    try { return JSON.parse(window.localStorage.getItem(QKEY) || "{}"); }
    catch (e) { return memoryQueue; }
  }
  function writeQueue(q) {
    memoryQueue = q;
    try { window.localStorage.setItem(QKEY, JSON.stringify(q)); } catch (e) { /* memory only */ }
  }
  function showNotice(text, kind) {
    if (!text) { notice.hidden = true; notice.textContent = ""; notice.removeAttribute("data-state"); return; }
    notice.hidden = false;
    notice.textContent = text;
    notice.setAttribute("data-state", kind);
  }
  function enqueue(item, cmi, terminate, extra) {
    var payload = { item: item, session: cfg.session, seq: ++localSeq, cmi: cmi, terminate: !!terminate };
    for (var k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) payload[k] = extra[k]; }
    var q = readQueue();
    q[item] = payload;  // full snapshots: the newest one supersedes any unsent older one
    writeQueue(q);
    return payload;
  }
  function send(payload, useBeacon) {
    var body = JSON.stringify(payload);
    if (useBeacon && navigator.sendBeacon) {
      navigator.sendBeacon(cfg.commitUrl, new Blob([body], { type: "text/plain;charset=UTF-8" }));
      return Promise.resolve(null);
    }
    return fetch(cfg.commitUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, keepalive: body.length < 60000
    });
  }
  function scheduleRetry() {
    if (retryTimer) return;
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5)));
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, delay);
  }
  var dirty = false;
  function flush() {
    dirty = true;
    if (flushing) return flushing;
    flushing = (async function () {
      while (dirty) {
        dirty = false;
        var q = readQueue();
        var items = Object.keys(q);
        for (var i = 0; i < items.length; i++) {
          var p = q[items[i]];
          var res;
          try { res = await send(p, false); } catch (e) { res = null; }
          var permanent = res && res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
          if (!res || !(res.ok || permanent)) {
            failures++;
            if (failures >= 3) showNotice("Chưa lưu được tiến độ lên máy chủ. Dữ liệu vẫn được giữ trên máy này và sẽ tự gửi lại.", "unsaved");
            scheduleRetry();
            return false;
          }
          var cur = readQueue();
          if (cur[p.item] && cur[p.item].seq === p.seq && cur[p.item].session === p.session) {
            delete cur[p.item];
            writeQueue(cur);
          }
          if (permanent) {
            var err = await res.json().catch(function () { return {}; });
            showNotice("Máy chủ từ chối dữ liệu bài học: " + (err.error || res.status), "rejected");
            if (window.console) console.error("commit rejected", err);
          }
        }
      }
      failures = 0;
      if (notice.getAttribute("data-state") === "unsaved") showNotice("Đã lưu tiến độ.", "saved");
      return true;
    })();
    flushing.finally(function () {
      flushing = null;
      root.setAttribute("data-pending-commits", String(Object.keys(readQueue()).length));
    });
    return flushing;
  }
  function beaconAll() {
    var q = readQueue();
    Object.keys(q).forEach(function (k) { send(q[k], true); });
  }
  window.addEventListener("online", function () { flush(); });

  /* ---------------- runtime ---------------- */
  var api = null;
  var current = null;         // item id of the SCO in the frame
  var terminated = false;
  var sessionEnded = false;
  var scoById = {};
  cfg.scos.forEach(function (s) { scoById[s.id] = s; });
  var order = cfg.scos.map(function (s) { return s.id; });

  function extras(terminate) {
    var extra = {};
    if (!v12 && api) {
      // The sequencing state is large: it travels with terminate and unload snapshots only.
      if (seqMode && terminate) {
        try { extra.sequencing = api.serializeSequencingState(); } catch (e) { /* none */ }
      }
      try {
        var obj = api.renderCommitObject(!!terminate);
        if (obj && obj.globalObjectives) extra.globals = obj.globalObjectives;
      } catch (e) { /* none */ }
      try { extra.shared = api.captureSharedDataSnapshot(); } catch (e) { /* none */ }
    }
    return extra;
  }

  var httpService = {
    processHttpRequest: function (url, params, immediate, apiLog, processListeners, metadata) {
      var terminate = !!(metadata && metadata.isTerminateCommit);
      if (current) {
        var extra = extras(terminate);
        if (terminate && endingSession) extra.session_end = true;
        lastPayload = enqueue(current, params, terminate, extra);
        flush();  // fetch with keepalive also outlives the page; pagehide adds a beacon
      }
      return { result: true, errorCode: 0 };
    },
    updateSettings: function () {}
  };

  function settings() {
    var s = {
      lmsCommitUrl: cfg.commitUrl, dataCommitFormat: "flattened", sendFullCommit: true,
      autocommit: true, autocommitSeconds: cfg.commitIntervalSeconds, logLevel: 4,
      httpService: httpService
    };
    if (seqMode) {
      s.sequencing = Object.assign({}, cfg.sequencing, {
        eventListeners: {
          // Delivery happens inside the previous SCO's Terminate: finish that call first.
          onActivityDelivery: function (a) { setTimeout(function () { loadSco(a.id); }, 0); },
          onNavigationValidityUpdate: function (d) { validity = d; renderNav(); },
          onSequencingSessionEnd: function () { setTimeout(showEnded, 0); }
        }
      });
    }
    return s;
  }

  function newApi() {
    if (v12) {
      api = new window.Scorm12API(settings());
      window.API = api;
      api.on("LMSFinish", function () { terminated = true; afterTerminate(); });
    } else {
      api = new window.Scorm2004API(settings());
      window.API_1484_11 = api;
      if (cfg.globalObjectives && Object.keys(cfg.globalObjectives).length) {
        try { api.restoreGlobalObjectiveSnapshot(cfg.globalObjectives); } catch (e) { /* ignore */ }
      }
      if (cfg.sharedData && Object.keys(cfg.sharedData).length) {
        try { api.restoreSharedDataSnapshot(cfg.sharedData); } catch (e) { /* ignore */ }
      }
      api.on("Terminate", function () { terminated = true; afterTerminate(); });
    }
  }

  var endingSession = false;
  var lastPayload = null;   // the newest commit, re-sent with the final sequencing state
  var launchState = null;   // the CMI the current SCO was launched with
  function afterTerminate() {
    if (v12 || seqMode) return;
    var req = "";
    try { req = api.adl.nav.request; } catch (e) { req = ""; }
    if (req && req !== "_none_") {
      setTimeout(function () { navigate(req); }, 0);
    }
  }

  function deliver(itemId) {
    if (seqMode) {
      if (!api.processNavigationRequest("choice", itemId)) {
        showNotice("Chưa thể mở mục này theo quy tắc của bài học.", "blocked");
      }
      return;
    }
    return loadSco(itemId);
  }

  var started = false;
  async function loadSco(itemId) {
    var sco = scoById[itemId];
    if (!sco) return;
    await unloadCurrent();
    var res = await fetch(cfg.stateUrl.replace("__ITEM__", encodeURIComponent(itemId)), { credentials: "same-origin" });
    if (!res.ok) { showNotice("Không tải được bài học (" + res.status + ").", "rejected"); return; }
    var state = await res.json();
    launchState = state.cmi;
    if (seqMode) {
      if (started) api.reset(undefined, { preserveListeners: true });
      started = true;
    } else {
      newApi();
    }
    api.loadFromFlattenedJSON(state.cmi);
    current = itemId;
    terminated = false;
    frame.src = sco.launch;
    root.setAttribute("data-current-item", itemId);
    renderNav();
  }

  function unloadCurrent() {
    return new Promise(function (resolve) {
      if (!current) { resolve(); return; }
      var done = function () { frame.removeEventListener("load", done); resolve(); };
      if (!terminated) {
        // Let the SCO's own unload handler call Finish/Terminate; blank page triggers it.
        frame.addEventListener("load", done);
        frame.src = "about:blank";
        setTimeout(function () { snapshotIfLive(); resolve(); }, 1500);
      } else { resolve(); }
    }).then(function () { snapshotIfLive(); current = null; });
  }

  /* The SCO in the frame has initialised the API and not yet terminated it. */
  function live() {
    return !!(api && current && !terminated && api.isInitialized());
  }

  function snapshotIfLive() {
    if (!live()) return;
    try {
      var cmi = api.renderCommitCMI(false);
      enqueue(current, cmi, false, extras(false));
    } catch (e) { /* not initialised yet */ }
  }

  function indexOf(id) { return order.indexOf(id); }

  function navigate(req) {
    if (sessionEnded) return;
    if (req === "continue" || req === "previous") {
      var i = indexOf(current) + (req === "continue" ? 1 : -1);
      if (i >= 0 && i < order.length) deliver(order[i]);
      else if (req === "continue") endSession(false);
      return;
    }
    var m = /^\{target=(.+)\}(choice|jump)$/.exec(req);
    if (m) { deliver(m[1]); return; }
    if (req === "exitAll" || req === "abandonAll") { endingSession = true; endSession(false); return; }
    if (req === "suspendAll") { endSession(true); return; }
    if (req === "exit" || req === "abandon") { endSession(false); return; }
  }

  async function endSession(suspend) {
    if (suspend && live()) {
      try {
        if (v12) { api.LMSSetValue("cmi.core.exit", "suspend"); }
        else { api.SetValue("cmi.exit", "suspend"); }
      } catch (e) { /* ignore */ }
    }
    if (live()) {
      try { if (v12) api.LMSFinish(""); else api.Terminate(""); } catch (e) { /* ignore */ }
    }
    showEnded();
  }

  async function showEnded() {
    if (sessionEnded) return;
    if (seqMode && lastPayload) {
      // The terminate commit left before the sequencer handled exitAll/suspendAll: send the
      // same data again with the sequencing state as it is now (suspended or ended).
      var extra = extras(true);
      extra.session_end = true;
      enqueue(lastPayload.item, lastPayload.cmi, true, extra);
    }
    sessionEnded = true;
    frame.src = "about:blank";
    current = null;
    await flush();
    root.setAttribute("data-scorm-session", "ended");
    root.querySelector(".session-ended").hidden = false;
    root.querySelector(".player-main").hidden = true;
    renderNav();
  }

  /* ---------------- UI: navigation buttons and table of contents ---------------- */
  function hidden(token) {
    if (seqMode && validity && validity.hideLmsUi && validity.hideLmsUi.indexOf(token) >= 0) return true;
    var item = findItem(cfg.organization.items, current);
    return !!(item && item.hideLmsUi && item.hideLmsUi.indexOf(token) >= 0);
  }
  function findItem(items, id) {
    for (var i = 0; i < items.length; i++) {
      if (items[i].id === id) return items[i];
      var f = findItem(items[i].children || [], id);
      if (f) return f;
    }
    return null;
  }
  function enabled(token) {
    if (sessionEnded || !current) return false;
    if (seqMode && validity) {
      if (token === "continue") return !!validity.continue;
      if (token === "previous") return !!validity.previous;
      return true;
    }
    var i = indexOf(current);
    if (token === "previous") return i > 0;
    if (token === "continue") return true;
    return true;
  }
  function renderNav() {
    navBar.innerHTML = "";
    if (sessionEnded) return;
    // Abandon requests are never offered: they throw away the learner's work.
    var wanted = ["previous", "continue", "suspendAll", "exitAll"];
    if (seqMode) wanted = ["previous", "continue", "exit", "suspendAll", "exitAll"];
    if (order.length === 1) wanted = ["suspendAll", "exitAll"];
    NAV.forEach(function (pair) {
      var token = pair[0];
      if (wanted.indexOf(token) < 0 || hidden(token)) return;
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = pair[1];
      b.setAttribute("data-scorm-nav", token);
      if (!enabled(token)) b.disabled = true;
      b.addEventListener("click", function () { onNavClick(token); });
      navBar.appendChild(b);
    });
    renderToc();
  }
  function onNavClick(token) {
    if (!v12 && live()) {
      try {
        if (token === "suspendAll") api.SetValue("cmi.exit", "suspend");
        api.SetValue("adl.nav.request", token);
        api.Terminate("");
        return;
      } catch (e) { /* fall through */ }
    }
    if (seqMode) {
      if (!api.processNavigationRequest(token)) showNotice("Không thể thực hiện thao tác này lúc này.", "blocked");
      return;
    }
    if (v12 && live() && token !== "suspendAll") {
      try { api.LMSFinish(""); } catch (e) { /* ignore */ }
    }
    navigate(token);
  }
  function renderToc() {
    var ul = tocEl.querySelector("ul");
    ul.innerHTML = "";
    var leafCount = order.length;
    var toggle = root.querySelector(".toc-toggle");
    if (leafCount < 2) { tocEl.hidden = true; toggle.hidden = true; return; }
    toggle.hidden = false;
    if (window.matchMedia("(min-width: 800px)").matches) tocEl.hidden = false;
    (function add(items, parent) {
      items.forEach(function (it) {
        if (it.visible === false) {  // hidden from the TOC; its children move up a level
          add(it.children || [], parent);
          return;
        }
        var li = document.createElement("li");
        var el;
        if (it.launch) {
          el = document.createElement("a");
          el.href = "#";
          el.addEventListener("click", function (ev) { ev.preventDefault(); if (el.getAttribute("aria-disabled") !== "true") onChoice(it.id); });
          if (it.id === current) el.setAttribute("aria-current", "page");
          if (sessionEnded || (seqMode && validity && validity.choice && validity.choice[it.id] === "false")) {
            el.setAttribute("aria-disabled", "true");
          }
        } else {
          el = document.createElement("span");
        }
        el.textContent = it.title;
        el.setAttribute("data-scorm-toc-item", it.id);
        li.appendChild(el);
        if (it.children && it.children.length) {
          var sub = document.createElement("ul");
          add(it.children, sub);
          li.appendChild(sub);
        }
        parent.appendChild(li);
      });
    })(cfg.organization.items, ul);
  }
  function onChoice(id) {
    if (!window.matchMedia("(min-width: 800px)").matches) {
      tocEl.hidden = true;
      root.querySelector(".toc-toggle").setAttribute("aria-expanded", "false");
    }
    if (!v12 && live()) {
      try {
        api.SetValue("adl.nav.request", "{target=" + id + "}choice");
        api.Terminate("");
        return;
      } catch (e) { /* fall through */ }
    }
    if (v12 && live()) { try { api.LMSFinish(""); } catch (e) { /* ignore */ } }
    deliver(id);
  }

  function startSequencing() {
    newApi();
    var ok = false;
    if (cfg.sequencingState) {
      try { api.deserializeSequencingState(cfg.sequencingState); } catch (e) { /* start afresh */ }
      ok = api.processNavigationRequest("resumeAll");
      if (!ok && cfg.currentItem) ok = api.processNavigationRequest("choice", cfg.currentItem);
    }
    if (!ok) ok = api.processNavigationRequest("start");
    // A tree without flow (choice only) cannot "start": open its first item instead.
    if (!ok) ok = api.processNavigationRequest("choice", order[0]);
    if (!ok) { seqMode = false; loadSco(order[0]); }
  }
  root.querySelector(".toc-toggle").addEventListener("click", function () {
    tocEl.hidden = !tocEl.hidden;
    this.setAttribute("aria-expanded", String(!tocEl.hidden));
  });

  /* ---------------- lifecycle ---------------- */
  function onHide() {
    snapshotIfLive();
    beaconAll();
  }
  window.addEventListener("pagehide", onHide);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") onHide();
  });
  setInterval(function () {
    if (live()) { snapshotIfLive(); flush(); }
  }, cfg.commitIntervalSeconds * 1000);

  window.hpPlayer = {
    flush: flush, queue: readQueue, navigate: navigate,
    api: function () { return api; },
    launchState: function () { return launchState; }
  };

  flush().then(function () {
    if (seqMode) { startSequencing(); return; }
    var start = cfg.currentItem && scoById[cfg.currentItem] ? cfg.currentItem : order[0];
    loadSco(start);
  });
})();
