/* SCORM adapter of the lesson: finds the LMS API (SCORM 2004 "API_1484_11" or SCORM 1.2 "API")
 * in the parent frames or the opener, and speaks either dialect behind one small interface.
 * Without an LMS the lesson still plays; nothing is recorded. */
(function () {
  "use strict";

  var ELEMENTS = {
    "1.2": {
      location: "cmi.core.lesson_location", suspend: "cmi.suspend_data", entry: "cmi.core.entry",
      exit: "cmi.core.exit", sessionTime: "cmi.core.session_time", mode: "cmi.core.lesson_mode",
      raw: "cmi.core.score.raw", min: "cmi.core.score.min", max: "cmi.core.score.max",
      status: "cmi.core.lesson_status", count: "cmi.interactions._count"
    },
    "2004": {
      location: "cmi.location", suspend: "cmi.suspend_data", entry: "cmi.entry",
      exit: "cmi.exit", sessionTime: "cmi.session_time", mode: "cmi.mode",
      raw: "cmi.score.raw", min: "cmi.score.min", max: "cmi.score.max",
      scaled: "cmi.score.scaled", completion: "cmi.completion_status",
      success: "cmi.success_status", progress: "cmi.progress_measure",
      count: "cmi.interactions._count"
    }
  };

  function lookUp(win, name) {
    for (var hops = 0; win && hops < 12; hops++) {
      try {
        if (win[name]) return win[name];
      } catch (e) { return null; }  // a frame of another origin: the search ends here
      if (!win.parent || win.parent === win) break;
      win = win.parent;
    }
    return null;
  }

  function find(name) {
    var api = lookUp(window.parent !== window ? window.parent : null, name);
    if (!api && window.opener) api = lookUp(window.opener, name);
    return api;
  }

  function pad(n, width) {
    var s = String(n);
    while (s.length < width) s = "0" + s;
    return s;
  }

  /* 1.2 CMITimespan HH:MM:SS.SS and 2004 ISO 8601 PT#H#M#S, from milliseconds. */
  function timespan12(ms) {
    var cs = Math.max(0, Math.round(ms / 10));
    var h = Math.floor(cs / 360000), m = Math.floor(cs / 6000) % 60, s = (cs % 6000) / 100;
    return pad(h, 2) + ":" + pad(m, 2) + ":" + (s < 10 ? "0" : "") + s.toFixed(2);
  }
  function duration2004(ms) {
    var cs = Math.max(0, Math.round(ms / 10));
    var h = Math.floor(cs / 360000), m = Math.floor(cs / 6000) % 60, s = (cs % 6000) / 100;
    return "PT" + (h ? h + "H" : "") + (m ? m + "M" : "") + s.toFixed(2) + "S";
  }
  function clock12(d) {
    return pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2);
  }
  function timestamp2004(d) {
    return d.toISOString().replace(/\.(\d\d)\d*Z$/, ".$1Z");  // at most 2 decimals (SCORM 2004)
  }

  function Scorm(preferred) {
    var order = preferred === "1.2" ? ["API", "API_1484_11"] : ["API_1484_11", "API"];
    this.api = null;
    this.version = null;
    for (var i = 0; i < order.length && !this.api; i++) {
      this.api = find(order[i]);
      if (this.api) this.version = order[i] === "API" ? "1.2" : "2004";
    }
    this.active = false;
    this.finished = false;
    this.review = false;
    this.startedAt = Date.now();
  }

  Scorm.prototype.v12 = function () { return this.version === "1.2"; };

  Scorm.prototype.call = function (m12, m2004, args) {
    if (!this.api) return "";
    try {
      var fn = this.api[this.v12() ? m12 : m2004];
      return String(fn.apply(this.api, args));
    } catch (e) {
      return "";
    }
  };

  Scorm.prototype.init = function () {
    if (!this.api) return false;
    this.active = this.call("LMSInitialize", "Initialize", [""]) === "true";
    this.startedAt = Date.now();
    if (this.active) {
      var mode = this.get("mode");
      this.review = mode === "review" || mode === "browse";
    }
    return this.active;
  };

  Scorm.prototype.el = function (key) { return ELEMENTS[this.version][key]; };

  Scorm.prototype.getRaw = function (element) {
    return this.active ? this.call("LMSGetValue", "GetValue", [element]) : "";
  };
  Scorm.prototype.setRaw = function (element, value) {
    if (!this.active || this.finished) return false;
    return this.call("LMSSetValue", "SetValue", [element, String(value)]) === "true";
  };
  Scorm.prototype.get = function (key) {
    var element = this.active && this.el(key);
    return element ? this.getRaw(element) : "";
  };
  Scorm.prototype.set = function (key, value) {
    var element = this.active && this.el(key);
    return element ? this.setRaw(element, value) : false;
  };

  Scorm.prototype.commit = function () {
    if (!this.active || this.finished) return false;
    this.setSessionTime();
    return this.call("LMSCommit", "Commit", [""]) === "true";
  };

  Scorm.prototype.finish = function () {
    if (!this.active || this.finished) return;
    this.setSessionTime();
    this.call("LMSFinish", "Terminate", [""]);
    this.finished = true;
  };

  Scorm.prototype.setSessionTime = function () {
    var ms = Date.now() - this.startedAt;
    this.set("sessionTime", this.v12() ? timespan12(ms) : duration2004(ms));
  };

  Scorm.prototype.interactionCount = function () {
    var n = parseInt(this.get("count"), 10);
    return isNaN(n) ? 0 : n;
  };

  /* Starts an attempt: statuses say "in progress" until the quiz decides. */
  Scorm.prototype.markStarted = function () {
    if (this.review) return;
    if (this.v12()) {
      var status = this.get("status");
      if (!status || status === "not attempted") this.set("status", "incomplete");
    } else {
      var completion = this.get("completion");
      if (!completion || completion === "unknown" || completion === "not attempted") {
        this.set("completion", "incomplete");
      }
    }
  };

  /* exit = suspend while the lesson is unfinished, so the next launch resumes it. */
  Scorm.prototype.setExit = function (done) {
    this.set("exit", done ? (this.v12() ? "" : "normal") : "suspend");
  };

  Scorm.prototype.setProgress = function (fraction) {
    if (!this.v12() && !this.review) this.set("progress", Math.max(0, Math.min(1, fraction)).toFixed(3));
  };

  Scorm.prototype.setResult = function (percent, passed) {
    if (this.review) return;
    this.set("min", "0");
    this.set("max", "100");
    this.set("raw", String(percent));
    if (this.v12()) {
      this.set("status", passed ? "passed" : "failed");
    } else {
      this.set("scaled", String(percent / 100));
      this.set("completion", "completed");
      this.set("success", passed ? "passed" : "failed");
      this.set("progress", "1");
    }
  };

  /* One answer as cmi.interactions.n: r = {id, response, correct, ok, description, latencyMs}. */
  Scorm.prototype.recordInteraction = function (n, r) {
    if (!this.active || this.review) return;
    var p = "cmi.interactions." + n + ".";
    var now = new Date();
    this.setRaw(p + "id", r.id);
    this.setRaw(p + "type", "choice");
    if (this.v12()) {
      this.setRaw(p + "time", clock12(now));
      this.setRaw(p + "correct_responses.0.pattern", r.correct);
      this.setRaw(p + "student_response", r.response);
      this.setRaw(p + "result", r.ok ? "correct" : "wrong");
      this.setRaw(p + "latency", timespan12(r.latencyMs));
    } else {
      var text = String(r.description || "").replace(/[{}]/g, "").slice(0, 250);
      this.setRaw(p + "description", "{lang=vi}" + text);
      this.setRaw(p + "timestamp", timestamp2004(now));
      this.setRaw(p + "correct_responses.0.pattern", r.correct);
      this.setRaw(p + "learner_response", r.response);
      this.setRaw(p + "result", r.ok ? "correct" : "incorrect");
      this.setRaw(p + "latency", duration2004(r.latencyMs));
    }
  };

  window.HpScorm = Scorm;
})();
