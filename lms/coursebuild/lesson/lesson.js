/* The lesson: a narrated video that stops at each check question, then the final quiz and the
 * result. Progress, answers and the bookmark go to the LMS through HpScorm (scorm.js). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lesson-data").textContent);
  var scorm = new window.HpScorm(data.scorm);
  var $ = function (id) { return document.getElementById(id); };
  var root = $("lesson");
  var video = $("video");
  var stage = root.querySelector(".stage");
  var LETTERS = "abcdefghijklmnopqrstuvwxyz";
  var EPS = 0.05;

  var state = {
    phase: "video",         // video | quiz | result
    position: 0,            // seconds into the video
    furthest: 0,            // the learner may seek freely up to here
    answers: {},            // check id -> {c: choice index, ok: bool}
    quiz: { tries: 0, draft: {}, last: null, score: null, passed: null, best: null },
    n: 0                    // next cmi.interactions index
  };
  var pendingCheck = -1;    // index of the check on screen, -1 when none
  var checkShownAt = 0;
  var quizShownAt = 0;
  var started = false;

  /* ---------------- helpers ---------------- */
  function fmt(sec) {
    sec = Math.max(0, Math.floor(sec));
    var m = Math.floor(sec / 60), s = sec % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function spoken(sec) {
    sec = Math.max(0, Math.floor(sec));
    var m = Math.floor(sec / 60), s = sec % 60;
    return (m ? m + " phút " : "") + s + " giây";
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function firstUnanswered() {
    for (var i = 0; i < data.checks.length; i++) {
      if (!state.answers[data.checks[i].id]) return i;
    }
    return -1;
  }
  /* The furthest the video may run before a check that still needs an answer. */
  function limit() {
    var i = firstUnanswered();
    return i < 0 ? data.duration : data.checks[i].time;
  }
  function slideAt(t) {
    for (var i = data.slides.length - 1; i >= 0; i--) {
      if (t >= data.slides[i].start - EPS) return i;
    }
    return 0;
  }
  function setVideoTime(t) {
    try { video.currentTime = t; } catch (e) { /* media not ready: position kept in state */ }
  }
  function quizDone() { return state.quiz.score !== null; }
  function passed() { return state.quiz.passed === true || state.quiz.best !== null && state.quiz.best >= data.passing; }

  /* ---------------- saving ---------------- */
  function progress() {
    if (quizDone()) return 1;
    return 0.9 * Math.min(1, state.furthest / data.duration);
  }
  function suspendData() {
    var a = {};
    Object.keys(state.answers).forEach(function (k) { a[k] = [state.answers[k].c, state.answers[k].ok ? 1 : 0]; });
    return JSON.stringify({
      v: 1, ph: state.phase, t: Math.round(state.position * 10) / 10,
      f: Math.round(state.furthest * 10) / 10, a: a, n: state.n,
      q: { k: state.quiz.tries, d: state.quiz.draft, l: state.quiz.last, s: state.quiz.score,
           p: state.quiz.passed, b: state.quiz.best }
    });
  }
  function persist(commit) {
    if (!scorm.active || scorm.finished) return;
    scorm.set("location", (Math.round(state.position * 10) / 10).toFixed(1));
    scorm.set("suspend", suspendData());
    scorm.setProgress(progress());
    scorm.setExit(passed());
    if (commit) scorm.commit();
  }
  function restore() {
    var raw = scorm.get("suspend");
    var saved = null;
    if (raw) { try { saved = JSON.parse(raw); } catch (e) { saved = null; } }
    if (saved && saved.v === 1) {
      Object.keys(saved.a || {}).forEach(function (k) {
        state.answers[k] = { c: saved.a[k][0], ok: !!saved.a[k][1] };
      });
      var q = saved.q || {};
      state.quiz = { tries: q.k || 0, draft: q.d || {}, last: q.l || null,
                     score: q.s === undefined ? null : q.s, passed: q.p === undefined ? null : q.p,
                     best: q.b === undefined ? null : q.b };
      state.n = saved.n || 0;
      state.furthest = Math.min(data.duration, saved.f || 0);
      state.position = Math.min(saved.t || 0, limit());
      state.phase = saved.ph === "quiz" || saved.ph === "result" ? saved.ph : "video";
      return true;
    }
    var loc = parseFloat(scorm.get("location"));
    if (!isNaN(loc) && loc > 0) {
      state.position = Math.min(loc, limit());
      state.furthest = state.position;
      return true;
    }
    return false;
  }

  /* ---------------- video ---------------- */
  var playBtn = $("btn-play"), bigPlay = $("big-play"), seek = $("seek"), timeEl = $("time");

  function updateVideoUi() {
    var t = state.position;
    seek.value = String(Math.round(t));
    seek.setAttribute("aria-valuetext", spoken(t) + " trên " + spoken(data.duration));
    timeEl.textContent = fmt(t) + " / " + fmt(data.duration);
    var playing = !video.paused && !video.ended;
    playBtn.textContent = playing ? "❚❚ Tạm dừng" : "▶ Phát";
    playBtn.setAttribute("aria-label", playing ? "Tạm dừng video" : "Phát video");
    bigPlay.hidden = playing || pendingCheck >= 0 || state.phase !== "video";
    var i = slideAt(t);
    $("progress-text").textContent = "Trang " + (i + 1) + "/" + data.slides.length +
      " · đã xem " + Math.round(100 * state.furthest / data.duration) + "%";
    if (slideTextShown !== i) renderSlideText(i);
    root.setAttribute("data-slide", String(i + 1));
  }
  var slideTextShown = -1;
  function renderSlideText(i) {
    slideTextShown = i;
    var box = $("slide-text");
    box.innerHTML = "";
    var s = data.slides[i];
    box.appendChild(el("p", { "class": "slide-title" }, s.title));
    if (s.bullets.length) {
      var ul = el("ul");
      s.bullets.forEach(function (b) { ul.appendChild(el("li", {}, b)); });
      box.appendChild(ul);
    }
  }

  /* Called whenever the position may have moved (playback, seeking, the test hooks). */
  function onTime(t) {
    if (state.phase !== "video") return;
    t = Math.max(0, Math.min(t, data.duration));
    var i = firstUnanswered();
    var atCheck = i >= 0 && t >= data.checks[i].time - EPS;
    if (atCheck) {
      t = data.checks[i].time;
      if (Math.abs(video.currentTime - t) > EPS) setVideoTime(t);
    }
    state.position = t;
    if (t > state.furthest) state.furthest = t;
    if (atCheck) openCheck(i);
    updateVideoUi();
    if (!atCheck && t >= data.duration - 0.3 && pendingCheck < 0) onVideoEnd();
  }

  function play() {
    if (state.phase !== "video" || pendingCheck >= 0) return;
    if (state.position >= data.duration - 0.3) { state.position = 0; setVideoTime(0); }
    started = true;
    var p = video.play();
    if (p && p.catch) p.catch(function () { updateVideoUi(); });
  }
  function pause() { video.pause(); }

  /* Seeks asked for by the learner stay within what they have already watched. */
  function learnerSeek(t) {
    t = Math.max(0, Math.min(t, state.furthest, data.duration));
    setVideoTime(t);
    onTime(t);
  }

  var poll = null;
  video.addEventListener("play", function () {
    bigPlay.hidden = true;
    if (!poll) poll = setInterval(function () { onTime(video.currentTime); }, 100);
    updateVideoUi();
  });
  video.addEventListener("pause", function () {
    if (poll) { clearInterval(poll); poll = null; }
    updateVideoUi();
    persist(true);
  });
  video.addEventListener("timeupdate", function () { if (!video.seeking) onTime(video.currentTime); });
  video.addEventListener("seeked", function () { onTime(video.currentTime); });
  video.addEventListener("ended", function () { onTime(data.duration); });
  video.addEventListener("loadedmetadata", function () {
    if (Math.abs(video.currentTime - state.position) > 0.5) setVideoTime(state.position);
  });
  video.addEventListener("error", function () {
    $("video-error").hidden = false;
  });

  playBtn.addEventListener("click", function () { if (video.paused) play(); else pause(); });
  bigPlay.addEventListener("click", play);
  video.addEventListener("click", function () { if (video.paused) play(); else pause(); });
  $("btn-back").addEventListener("click", function () { learnerSeek(state.position - 10); });
  seek.addEventListener("input", function () { learnerSeek(parseFloat(seek.value)); });

  var ccBtn = $("btn-cc");
  function captionsOn(on) {
    var tracks = video.textTracks;
    for (var i = 0; i < tracks.length; i++) tracks[i].mode = on ? "showing" : "hidden";
    ccBtn.setAttribute("aria-pressed", on ? "true" : "false");
    ccBtn.textContent = on ? "Phụ đề: Bật" : "Phụ đề: Tắt";
  }
  ccBtn.addEventListener("click", function () { captionsOn(ccBtn.getAttribute("aria-pressed") !== "true"); });

  var RATES = [1, 1.25, 0.75];
  var rateBtn = $("btn-rate");
  rateBtn.addEventListener("click", function () {
    var next = RATES[(RATES.indexOf(video.playbackRate) + 1) % RATES.length] || 1;
    video.playbackRate = next;
    rateBtn.textContent = "Tốc độ: " + String(next).replace(".", ",") + "×";
  });

  var fullBtn = $("btn-full");
  if (!stage.requestFullscreen) fullBtn.hidden = true;
  fullBtn.addEventListener("click", function () {
    if (document.fullscreenElement) document.exitFullscreen();
    else stage.requestFullscreen().catch(function () { /* refused */ });
  });

  document.addEventListener("keydown", function (ev) {
    if (state.phase !== "video" || pendingCheck >= 0 || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var key = ev.key;
    if (key === " " || key === "k" || key === "K") {
      if (tag === "BUTTON" && key === " ") return;  // the focused button handles it
      ev.preventDefault();
      if (video.paused) play(); else pause();
    } else if (key === "ArrowLeft") { ev.preventDefault(); learnerSeek(state.position - 5); }
    else if (key === "ArrowRight") { ev.preventDefault(); learnerSeek(state.position + 5); }
    else if (key === "c" || key === "C") { captionsOn(ccBtn.getAttribute("aria-pressed") !== "true"); }
    else if (key === "f" || key === "F") { fullBtn.click(); }
  });

  /* ---------------- checks during the video ---------------- */
  var overlay = $("check-overlay"), checkForm = $("check-form");

  function choiceList(container, name, question, chosen, disabled) {
    container.innerHTML = "";
    question.choices.forEach(function (text, c) {
      var id = name + "-" + c;
      var label = el("label", { "class": "choice", "for": id });
      var input = el("input", { type: "radio", name: name, id: id, value: String(c) });
      if (chosen === c) input.checked = true;
      if (disabled) input.disabled = true;
      label.appendChild(input);
      label.appendChild(el("span", {}, text));
      container.appendChild(label);
    });
  }

  function openCheck(i) {
    if (pendingCheck === i) return;
    pendingCheck = i;
    video.pause();
    var q = data.checks[i];
    $("check-count").textContent = (i + 1) + "/" + data.checks.length;
    $("check-prompt").textContent = q.prompt;
    choiceList($("check-choices"), "check-" + q.id, q, -1, false);
    $("check-feedback").textContent = "";
    $("check-feedback").removeAttribute("data-result");
    $("check-error").textContent = "";
    $("check-submit").hidden = false;
    $("check-continue").hidden = true;
    overlay.hidden = false;
    root.setAttribute("data-check", q.id);
    checkShownAt = Date.now();
    var first = overlay.querySelector("input");
    if (first) first.focus();
  }

  function feedback(box, ok, question) {
    box.setAttribute("data-result", ok ? "correct" : "incorrect");
    box.innerHTML = "";
    box.appendChild(el("strong", {}, ok ? "Đúng rồi!" : "Chưa đúng."));
    if (!ok) box.appendChild(el("span", {}, " Đáp án đúng: " + question.choices[question.answer] + "."));
    box.appendChild(el("span", { "class": "explain" }, " " + question.explain));
  }

  checkForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (pendingCheck < 0) return;
    var q = data.checks[pendingCheck];
    if (state.answers[q.id]) return;
    var picked = checkForm.querySelector("input:checked");
    if (!picked) { $("check-error").textContent = "Hãy chọn một đáp án."; return; }
    var c = parseInt(picked.value, 10);
    var ok = c === q.answer;
    state.answers[q.id] = { c: c, ok: ok };
    scorm.recordInteraction(state.n++, {
      id: data.code + "-" + q.id, response: LETTERS[c], correct: LETTERS[q.answer], ok: ok,
      description: q.prompt, latencyMs: Date.now() - checkShownAt
    });
    $("check-error").textContent = "";
    checkForm.querySelectorAll("input").forEach(function (r) { r.disabled = true; });
    feedback($("check-feedback"), ok, q);
    $("check-submit").hidden = true;
    $("check-continue").hidden = false;
    $("check-continue").focus();
    persist(true);
  });

  function closeCheck() {
    overlay.hidden = true;
    pendingCheck = -1;
    root.removeAttribute("data-check");
  }
  $("check-continue").addEventListener("click", function () {
    closeCheck();
    onTime(state.position);  // another check at the same moment, or the end of the video
    if (state.phase === "video" && pendingCheck < 0) play();
  });
  overlay.addEventListener("keydown", function (ev) {  // keep keyboard focus inside the dialog
    if (ev.key !== "Tab") return;
    var items = Array.prototype.filter.call(
      overlay.querySelectorAll("input:not([disabled]), button:not([hidden])"),
      function (e) { return e.offsetParent !== null; });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1];
    if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
  });

  function onVideoEnd() {
    if (firstUnanswered() >= 0) return;
    state.position = data.duration;
    state.furthest = data.duration;
    video.pause();
    show(quizDone() && (passed() || state.phase === "result") ? "result" : "quiz");
    persist(true);
  }

  /* ---------------- final quiz and result ---------------- */
  var quizForm = $("quiz-form");

  function renderQuiz() {
    var list = $("quiz-list");
    list.innerHTML = "";
    data.quiz.forEach(function (q) {
      var li = el("li", { "class": "question" });
      var fs = el("fieldset");
      fs.appendChild(el("legend", {}, q.prompt));
      var box = el("div", { "class": "choices" });
      var chosen = state.quiz.draft[q.id];
      choiceList(box, "quiz-" + q.id, q, chosen === undefined ? -1 : chosen, false);
      fs.appendChild(box);
      li.appendChild(fs);
      list.appendChild(li);
    });
    $("quiz-error").textContent = "";
  }
  quizForm.addEventListener("change", function (ev) {
    var m = /^quiz-(.+)$/.exec(ev.target.name || "");
    if (m) { state.quiz.draft[m[1]] = parseInt(ev.target.value, 10); persist(false); }
  });
  quizForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var missing = data.quiz.filter(function (q) { return state.quiz.draft[q.id] === undefined; });
    if (missing.length) {
      $("quiz-error").textContent = "Bạn còn " + missing.length + " câu chưa trả lời.";
      var first = quizForm.querySelector('input[name="quiz-' + missing[0].id + '"]');
      if (first) first.focus();
      return;
    }
    state.quiz.tries += 1;
    var right = 0, latency = Date.now() - quizShownAt;
    var last = {};
    data.quiz.forEach(function (q) {
      var c = state.quiz.draft[q.id];
      var ok = c === q.answer;
      if (ok) right++;
      last[q.id] = c;
      scorm.recordInteraction(state.n++, {
        id: data.code + "-quiz-" + state.quiz.tries + "-" + q.id, response: LETTERS[c],
        correct: LETTERS[q.answer], ok: ok, description: q.prompt,
        latencyMs: Math.round(latency / data.quiz.length)
      });
    });
    var score = Math.round(100 * right / data.quiz.length);
    state.quiz.last = last;
    state.quiz.score = score;
    state.quiz.passed = score >= data.passing;
    state.quiz.best = Math.max(state.quiz.best === null ? 0 : state.quiz.best, score);
    state.quiz.draft = {};
    // A retry never takes a pass away: the LMS keeps the best result reported.
    var best = state.quiz.best;
    scorm.setResult(best, best >= data.passing);
    show("result");
    persist(true);
  });

  function renderResult() {
    var q = state.quiz;
    var ok = q.passed === true;
    var right = 0;
    var list = $("result-list");
    list.innerHTML = "";
    data.quiz.forEach(function (question) {
      var c = q.last ? q.last[question.id] : undefined;
      var good = c === question.answer;
      if (good) right++;
      var li = el("li", { "class": "question" });
      li.appendChild(el("p", { "class": "prompt" }, question.prompt));
      var box = el("p", { "class": "feedback" });
      feedback(box, good, question);
      li.appendChild(box);
      list.appendChild(li);
    });
    root.setAttribute("data-result", ok ? "passed" : "failed");
    $("result-title").textContent = ok ? "Chúc mừng, bạn đã đạt!" : "Bạn chưa đạt lần này";
    $("result-score").textContent = "Điểm: " + q.score + "/100 (" + right + "/" + data.quiz.length +
      " câu đúng). Cần " + data.passing + " điểm để đạt.";
    $("result-message").textContent = ok
      ? "Bạn đã hoàn thành bài học. Kết quả đã được ghi nhận."
      : "Hãy xem lại phần giải thích bên dưới (hoặc xem lại video), rồi làm lại bài kiểm tra.";
    $("retry").hidden = ok;
  }

  function show(phase) {
    state.phase = phase;
    root.setAttribute("data-phase", phase);
    $("video-view").hidden = phase !== "video";
    $("quiz-view").hidden = phase !== "quiz";
    $("result-view").hidden = phase !== "result";
    if (phase !== "video") { video.pause(); closeCheck(); }
    if (phase === "quiz") {
      renderQuiz();
      quizShownAt = Date.now();
      $("quiz-title").focus();
    }
    if (phase === "result") {
      renderResult();
      $("result-title").focus();
    }
    if (phase === "video") updateVideoUi();
  }

  $("retry").addEventListener("click", function () { show("quiz"); persist(false); });
  function rewatch() {
    show("video");
    state.position = 0;
    setVideoTime(0);
    updateVideoUi();
  }
  $("quiz-rewatch").addEventListener("click", rewatch);
  $("result-rewatch").addEventListener("click", rewatch);

  /* ---------------- lifecycle ---------------- */
  function leave() {
    if (!scorm.active || scorm.finished) return;
    persist(false);
    scorm.finish();
  }
  window.addEventListener("pagehide", leave);
  window.addEventListener("beforeunload", leave);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") persist(true);
  });
  setInterval(function () { if (!video.paused) persist(false); }, 15000);

  function start() {
    var connected = scorm.init();
    var resumed = connected && restore();
    if (connected) {
      state.n = Math.max(state.n, scorm.interactionCount());
      scorm.markStarted();
    }
    $("lms-status").textContent = connected ? "" : "Đang xem thử: kết quả không được lưu.";
    captionsOn(true);
    if (resumed && state.position > 0) {
      bigPlay.textContent = "▶ Học tiếp từ " + fmt(state.position);
    }
    setVideoTime(state.position);
    show(state.phase);
    if (state.phase === "video") onTime(state.position);
    persist(true);
    root.setAttribute("data-ready", "true");
  }

  /* Test hooks: browser tests skip through the video instead of watching it. */
  window.hpLesson = {
    seek: function (seconds) {
      if (state.phase !== "video") show("video");
      var t = Math.max(0, Math.min(Number(seconds), data.duration));
      setVideoTime(Math.min(t, limit()));
      onTime(t);
      return window.hpLesson.state();
    },
    play: play,
    pause: pause,
    state: function () {
      return {
        phase: state.phase, position: state.position, furthest: state.furthest,
        duration: data.duration, started: started,
        pendingCheck: pendingCheck >= 0 ? data.checks[pendingCheck].id : null,
        answers: JSON.parse(JSON.stringify(state.answers)),
        quiz: JSON.parse(JSON.stringify(state.quiz)), interactions: state.n,
        scorm: scorm.active ? scorm.version : null, finished: scorm.finished
      };
    },
    data: data
  };

  start();
})();
