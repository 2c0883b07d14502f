// ferkit page: upload an image or video, or stream the webcam to the server, and draw what comes back.
// Plain browser JavaScript, no dependencies, every asset served by the app itself.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    model: $("model"), file: $("file"), camera: $("camera"), fps: $("fps"), drop: $("drop"),
    progressRow: $("progress-row"), progress: $("progress"), cancel: $("cancel"), status: $("status"),
    stage: $("stage"), image: $("image"), video: $("video"), overlay: $("overlay"), legend: $("legend"),
    faces: $("faces"), timeline: $("timeline"), runBrowser: $("runon-browser"), runNote: $("runon-note"),
  };
  // Colours of the canonical labels (as in ferkit.inference.drawing); other labels get a hue from their name.
  const KNOWN = {
    neutral: "#c8c8c8", happiness: "#ffc800", surprise: "#00c8ff", sadness: "#3c5aff", anger: "#ff2828",
    disgust: "#3cb43c", fear: "#aa50ff", contempt: "#ff78c8",
  };
  const LIVE_WIDTH = 320;        // frames are sent at this width: enough for faces, light on the network
  const LIVE_WINDOW_S = 20;      // the live timeline shows the last this many seconds
  const MAX_CHART_TRACKS = 4;

  const state = {
    labels: [], mode: "idle", faces: [], scale: 1, stream: null, ws: null, live: false, busy: false,
    sentAt: 0, times: [], latency: 0, tracks: new Map(), t0: 0, video: null, job: null, frames: 0,
    runOn: "server", source: null, localTrack: null, browserPasses: "",
  };
  window.ferkit = state;  // for the browser tests and the curious

  const colour = (label) => {
    if (KNOWN[label]) return KNOWN[label];
    let h = 0;
    for (const c of label) h = (h * 31 + c.charCodeAt(0)) % 360;
    return `hsl(${h} 80% 60%)`;
  };
  const pct = (p) => `${Math.round(p * 100)}%`;

  function setStatus(text, error = false) {
    el.status.textContent = text;
    el.status.classList.toggle("error", error);
  }

  async function api(url, options) {
    const res = await fetch(url, options);
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const detail = body && body.detail ? body.detail : `${res.status} ${res.statusText}`;
      const err = new Error(detail);
      err.status = res.status;
      err.code = body && body.error;
      throw err;
    }
    return body;
  }

  // ----- model and legend ----------------------------------------------------------------------------------
  async function loadModel() {
    try {
      const info = await api("/v1/models");
      state.labels = info.loaded.labels;
      el.model.textContent = `Model ${info.loaded.name} (${info.loaded.arch || "?"}), ` +
        `${state.labels.length} labels, detector ${info.loaded.detector}`;
      el.legend.replaceChildren(...state.labels.map((l) => {
        const s = document.createElement("span");
        s.style.setProperty("--swatch", colour(l));
        s.textContent = l;
        return s;
      }));
    } catch (e) {
      el.model.textContent = `Cannot reach the model: ${e.message}`;
    }
  }

  // ----- where the models run -------------------------------------------------------------------------------
  async function checkBrowserMode() {
    if (!window.ferkitLocal) return;
    const info = await window.ferkitLocal.status().catch((e) => ({ available: false, reason: e.message }));
    el.runBrowser.disabled = !info.available;
    el.runNote.textContent = info.available ? "" : `(in-browser mode off: ${info.reason})`;
  }

  async function setRunOn(where) {
    if (where === "browser") {
      setStatus("Loading the models into this browser…");
      try {
        await window.ferkitLocal.load();
        state.runOn = "browser";
        setStatus("The models now run in this browser (onnxruntime-web); videos still go to the server.");
      } catch (e) {
        fallBack(e);
      }
    } else {
      state.runOn = "server";
      setStatus("The models run on the server.");
    }
    if (state.live) {   // switch the running webcam over
      state.busy = false;
      if (state.runOn === "server" && !state.ws) openSocket(); else sendFrame();
    }
  }

  function fallBack(e) {
    state.runOn = "server";
    document.querySelector('input[name="runon"][value="server"]').checked = true;
    setStatus(`In-browser mode failed (${e.message}); using the server.`, true);
  }

  // ----- drawing ---------------------------------------------------------------------------------------------
  function sizeOverlay(w, h) {
    if (el.overlay.width !== w || el.overlay.height !== h) {
      el.overlay.width = w;
      el.overlay.height = h;
    }
  }

  function drawFaces(faces, scale) {
    const ctx = el.overlay.getContext("2d");
    const W = el.overlay.width, H = el.overlay.height;
    ctx.clearRect(0, 0, W, H);
    // Canvas pixels per CSS pixel: strokes and text keep the same size on screen whatever the picture's size.
    const unit = W / Math.max(1, el.overlay.clientWidth || W);
    for (const f of faces) {
      const [x1, y1, x2, y2] = f.box.map((v) => v * scale);
      const c = colour(f.label);
      ctx.lineWidth = 2.5 * unit;
      ctx.strokeStyle = c;
      ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
      const tag = (f.track_id != null ? `#${f.track_id} ` : "") + `${f.label} ${pct(f.probability)}`;
      const fs = Math.round((el.overlay.clientWidth < 500 ? 11 : 14) * unit);   // smaller on phones
      ctx.font = `600 ${fs}px system-ui, sans-serif`;
      const tw = ctx.measureText(tag).width + 8;
      const ty = y1 - fs - 6 >= 0 ? y1 - fs - 6 : y2 + 2;
      ctx.fillStyle = "rgba(0,0,0,0.7)";
      ctx.fillRect(x1, ty, tw, fs + 6);
      ctx.fillStyle = c;
      ctx.fillText(tag, x1 + 4, ty + fs);
      // Per-emotion bars under the box, when there is room for them.
      const bw = Math.max(x2 - x1, 60 * unit), bh = 4 * unit;
      let by = y2 + (ty > y2 ? fs + 10 : 4);
      if (by + bh * state.labels.length <= H) {
        for (const l of state.labels) {
          const p = f.probabilities[l] || 0;
          ctx.fillStyle = "rgba(0,0,0,0.55)";
          ctx.fillRect(x1, by, bw, bh);
          ctx.fillStyle = colour(l);
          ctx.fillRect(x1, by, bw * p, bh);
          by += bh + 1;
        }
      }
    }
    el.stage.dataset.faces = String(faces.length);
  }

  const MAX_LISTED = 8;
  function listFaces(faces, note = "") {
    const items = faces.slice(0, MAX_LISTED).map((f, i) => {
      const li = document.createElement("li");
      li.className = "face";
      li.dataset.label = f.label;
      li.style.setProperty("--swatch", colour(f.label));
      const h = document.createElement("h3");
      h.textContent = `${f.track_id != null ? "Face #" + f.track_id : "Face " + (i + 1)}: ${f.label} ${pct(f.probability)}`;
      li.append(h);
      for (const l of state.labels) {
        const p = f.probabilities[l] || 0;
        const row = document.createElement("div");
        row.className = "bar";
        row.style.setProperty("--swatch", colour(l));
        row.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="pct"></span>';
        row.querySelector(".name").textContent = l;
        row.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
        row.querySelector(".pct").textContent = pct(p);
        row.setAttribute("role", "img");
        row.setAttribute("aria-label", `${l} ${pct(p)}`);
        li.append(row);
      }
      return li;
    });
    if (faces.length > MAX_LISTED || note) {
      const li = document.createElement("li");
      li.className = "muted small";
      li.textContent = [faces.length > MAX_LISTED ? `…and ${faces.length - MAX_LISTED} more.` : "", note].join(" ").trim();
      items.push(li);
    }
    el.faces.replaceChildren(...items);
  }

  // Timeline: one band per face (the most recent few), a line per emotion. x: seconds.
  function drawTimeline(x0, x1, cursor = null) {
    const cv = el.timeline, dpr = window.devicePixelRatio || 1;
    const W = Math.round(cv.clientWidth * dpr), H = Math.round(cv.clientHeight * dpr);
    if (!W || !H) return;
    if (cv.width !== W || cv.height !== H) { cv.width = W; cv.height = H; }
    const ctx = cv.getContext("2d");
    ctx.clearRect(0, 0, W, H);
    // Live: the faces seen most recently; video: the faces followed longest.
    const rank = state.mode === "video" ? (id) => state.tracks.get(id).length : lastTime;
    const ids = [...state.tracks.keys()].sort((a, b) => rank(b) - rank(a)).slice(0, MAX_CHART_TRACKS);
    ctx.font = `${12 * dpr}px system-ui, sans-serif`;
    if (!ids.length) {
      ctx.fillStyle = "#9fb0bf";
      ctx.fillText(state.mode === "image" ? "The timeline fills in for videos and the webcam."
        : "No faces yet", 10 * dpr, 20 * dpr);
      return;
    }
    ids.sort((a, b) => a - b);
    const band = H / ids.length, pad = 4 * dpr, left = 46 * dpr;
    const xs = (t) => left + (W - left - pad) * (t - x0) / Math.max(1e-6, x1 - x0);
    ids.forEach((id, k) => {
      const top = k * band + pad, h = band - 2 * pad;
      const pts = state.tracks.get(id).filter((p) => p.t >= x0 && p.t <= x1);
      ctx.fillStyle = "#24303b";
      ctx.fillRect(left, top, W - left - pad, h);
      ctx.fillStyle = "#3a4856";
      ctx.fillRect(left, top + h / 2, W - left - pad, dpr);   // 50% line
      ctx.fillStyle = "#eef2f5";
      ctx.fillText(`#${id}`, 6 * dpr, top + 14 * dpr);
      const lastP = pts.length ? pts[pts.length - 1] : null;
      if (lastP) {
        ctx.fillStyle = colour(lastP.label);
        ctx.fillText(lastP.label.slice(0, 6), 6 * dpr, top + 30 * dpr);
      }
      ctx.lineWidth = 1.5 * dpr;
      for (const l of state.labels) {
        ctx.strokeStyle = colour(l);
        ctx.beginPath();
        let prev = null;
        for (const p of pts) {
          const x = xs(p.t), y = top + h * (1 - (p.probs[l] || 0));
          if (prev && p.t - prev.t > 1.0) ctx.moveTo(x, y);  // gap: the face was not seen
          else if (prev) ctx.lineTo(x, y);
          else ctx.moveTo(x, y);
          prev = p;
        }
        ctx.stroke();
      }
    });
    if (cursor != null) {
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1 * dpr;
      ctx.beginPath();
      ctx.moveTo(xs(cursor), 0);
      ctx.lineTo(xs(cursor), H);
      ctx.stroke();
    }
  }
  const lastTime = (id) => { const a = state.tracks.get(id); return a.length ? a[a.length - 1].t : -1; };

  // ----- modes -----------------------------------------------------------------------------------------------
  function setMode(mode) {
    state.mode = mode;
    el.stage.dataset.mode = mode;
    el.image.hidden = mode !== "image";
    el.video.hidden = !(mode === "video" || mode === "live");
    el.video.controls = mode === "video";
    if (mode !== "video") el.video.removeAttribute("src");
  }

  function reset() {
    state.faces = [];
    state.tracks = new Map();
    state.video = null;
    state.times = [];
    el.faces.replaceChildren();
    drawFaces([], 1);
    drawTimeline(0, 1);
    el.fps.textContent = "– fps";
  }

  async function onFile(file) {
    if (!file) return;
    await stopCamera();
    reset();
    const kind = file.type.startsWith("video/") ? "video" : file.type.startsWith("image/") ? "image" : "unknown";
    try {
      if (kind === "video") await analyseVideo(file);
      else await analyseImage(file, kind === "unknown");
    } catch (e) {
      setStatus(`Could not analyse ${file.name}: ${e.message}`, true);
    }
  }

  async function analyseImage(file, mayBeVideo) {
    if (state.runOn === "browser" && !mayBeVideo) {
      try {
        return await analyseImageHere(file);
      } catch (e) {
        fallBack(e);
      }
    }
    setStatus(`Analysing ${file.name}…`);
    const form = new FormData();
    form.append("file", file);
    const t = performance.now();
    let result;
    try {
      result = await api("/v1/predict", { method: "POST", body: form });
    } catch (e) {
      if (mayBeVideo && e.status === 415) return analyseVideo(file);
      throw e;
    }
    const ms = performance.now() - t;
    const url = URL.createObjectURL(file);
    await new Promise((ok, fail) => { el.image.onload = ok; el.image.onerror = fail; el.image.src = url; });
    setMode("image");
    el.image.alt = `${file.name}, ${result.faces.length} face(s) found`;
    sizeOverlay(result.image.width, result.image.height);
    state.faces = result.faces;
    drawFaces(result.faces, 1);
    listFaces(result.faces);
    el.fps.textContent = `${(1000 / ms).toFixed(1)} fps · ${Math.round(ms)} ms`;
    state.source = "server";
    setStatus(`${file.name}: ${result.faces.length} face${result.faces.length === 1 ? "" : "s"} found.`);
  }

  async function analyseImageHere(file) {
    setStatus(`Analysing ${file.name} in this browser…`);
    const url = URL.createObjectURL(file);
    await new Promise((ok, fail) => { el.image.onload = ok; el.image.onerror = fail; el.image.src = url; });
    const w = el.image.naturalWidth, h = el.image.naturalHeight;
    const t = performance.now();
    const faces = await window.ferkitLocal.predict(el.image, w, h, true);
    const ms = performance.now() - t;
    setMode("image");
    el.image.alt = `${file.name}, ${faces.length} face(s) found`;
    sizeOverlay(w, h);
    state.faces = faces;
    state.source = "browser";
    drawFaces(faces, 1);
    listFaces(faces);
    el.fps.textContent = `${(1000 / ms).toFixed(1)} fps · ${Math.round(ms)} ms`;
    state.browserPasses = window.ferkitLocal.describe(true);
    setStatus(`${file.name}: ${faces.length} face${faces.length === 1 ? "" : "s"} found (in this browser: `
              + `${state.browserPasses}).`);
  }

  async function analyseVideo(file) {
    setStatus(`Uploading ${file.name}…`);
    const form = new FormData();
    form.append("file", file);
    let job = await api("/v1/predict/video", { method: "POST", body: form });
    state.job = job.job_id;
    el.progressRow.hidden = false;
    const t = performance.now();
    while (job.status === "queued" || job.status === "running") {
      el.progress.value = job.progress.fraction;
      setStatus(`Analysing ${file.name}: frame ${job.progress.frames_done} of ${job.progress.frames_total}`);
      await new Promise((r) => setTimeout(r, 400));
      job = await api(job.status_url);
    }
    el.progressRow.hidden = true;
    state.job = null;
    if (job.status !== "done") throw new Error(job.error ? job.error.detail : `job ${job.status}`);
    const r = job.result;
    const secs = (performance.now() - t) / 1000;
    state.video = r;
    for (const tr of r.tracks) {
      state.tracks.set(tr.track_id, tr.timeline.map((p) => ({ t: p.time, probs: p.probabilities, label: p.label })));
    }
    setMode("video");
    el.video.srcObject = null;
    el.video.src = URL.createObjectURL(file);
    el.video.loop = true;
    el.fps.textContent = `${(r.video.frames_analysed / secs).toFixed(1)} fps (analysis)`;
    const damage = (r.video.skipped_frames ? ` ${r.video.skipped_frames} undecodable frame(s) skipped.` : "") +
      (r.video.truncated ? " The file ends early (truncated or damaged)." : "");
    setStatus(`${file.name}: ${r.summary.tracks} face track(s), mostly ${r.summary.dominant_label || "no faces"}.` +
      `${damage} Use the video controls to play.`);
    const byLength = [...r.tracks].sort((a, b) => b.frames - a.frames);
    listFaces(byLength.map((tr) => ({ ...tr, probability: tr.probabilities[tr.label] })),
      "Per face: mean over the frames it was seen.");
    el.video.play().catch(() => {});
  }

  // Faces of the analysed frame at or before the video's current time.
  function videoFacesAt(time) {
    const frames = state.video.frames;
    let lo = 0, hi = frames.length - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (frames[mid].time <= time + 1e-3) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return best >= 0 ? frames[best].faces.map((f) => ({ ...f, probability: f.probabilities[f.label] })) : [];
  }

  // ----- webcam ----------------------------------------------------------------------------------------------
  async function startCamera() {
    reset();
    setStatus("Starting the webcam…");
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    setMode("live");
    el.video.srcObject = state.stream;
    await el.video.play();
    state.live = true;
    state.t0 = performance.now() / 1000;
    el.camera.textContent = "Stop webcam";
    el.camera.setAttribute("aria-pressed", "true");
    state.localTrack = window.ferkitLocal ? window.ferkitLocal.tracker() : null;
    if (state.runOn === "browser") {
      setStatus("Webcam live: the models run in this browser.");
      sendFrame();
    } else {
      openSocket();
    }
  }

  function openSocket() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/v1/live`);
    ws.binaryType = "arraybuffer";
    state.ws = ws;
    ws.onopen = () => { setStatus("Webcam live: frames go to the server over a WebSocket."); sendFrame(); };
    ws.onmessage = (ev) => onLiveMessage(JSON.parse(ev.data));
    ws.onerror = () => {};
    ws.onclose = () => {
      if (state.ws === ws) state.ws = null;
      if (state.live) { setStatus("Live connection closed; using HTTP uploads instead."); state.busy = false; sendFrame(); }
    };
  }

  function onLiveMessage(msg) {
    if (state.runOn === "browser") return;   // switched to in-browser mode: late server answers are dropped
    if (msg.type === "result") {
      state.busy = false;
      state.source = "server";
      onLiveResult(msg);
      sendFrame();
    } else if (msg.type === "error") {
      state.busy = false;
      setStatus(`Server: ${msg.detail}`, true);
      if (msg.error !== "busy") setTimeout(sendFrame, 200);
    }
  }

  function onLiveResult(r) {
    const now = performance.now();
    state.frames += 1;
    state.latency = now - state.sentAt;
    state.times.push(now);
    while (state.times.length > 2 && now - state.times[0] > 2000) state.times.shift();
    if (state.times.length > 1) {
      const fps = (state.times.length - 1) / ((now - state.times[0]) / 1000);
      el.fps.textContent = `${fps.toFixed(1)} fps · ${Math.round(state.latency)} ms`;
    }
    state.faces = r.faces;
    state.scale = el.video.videoWidth / r.width;
    const t = now / 1000 - state.t0;
    r.faces.forEach((f, i) => {
      const id = f.track_id != null ? f.track_id : i + 1;
      if (!state.tracks.has(id)) state.tracks.set(id, []);
      const arr = state.tracks.get(id);
      arr.push({ t, probs: f.probabilities, label: f.label });
      while (arr.length && arr[0].t < t - LIVE_WINDOW_S) arr.shift();
    });
    for (const [id, arr] of state.tracks) if (!arr.length || arr[arr.length - 1].t < t - LIVE_WINDOW_S) state.tracks.delete(id);
    if (state.frames % 3 === 1) listFaces(r.faces);
  }

  async function localFrame() {
    state.busy = true;
    state.sentAt = performance.now();
    try {
      const w = el.video.videoWidth, h = el.video.videoHeight;
      const faces = state.localTrack(await window.ferkitLocal.predict(el.video, w, h));
      state.busy = false;
      state.source = "browser";
      if (state.live && state.runOn === "browser") onLiveResult({ width: w, faces });
    } catch (e) {
      state.busy = false;
      fallBack(e);
      if (state.live && !state.ws) openSocket();
      return;
    }
    setTimeout(sendFrame, 0);
  }

  const grab = document.createElement("canvas");
  function sendFrame() {
    if (!state.live || state.busy || !el.video.videoWidth) {
      if (state.live && !el.video.videoWidth) setTimeout(sendFrame, 100);
      return;
    }
    if (state.runOn === "browser") { localFrame(); return; }
    const w = Math.min(LIVE_WIDTH, el.video.videoWidth);
    const h = Math.round(el.video.videoHeight * w / el.video.videoWidth);
    grab.width = w; grab.height = h;
    grab.getContext("2d").drawImage(el.video, 0, 0, w, h);
    state.busy = true;
    grab.toBlob(async (blob) => {
      if (!state.live || !blob) { state.busy = false; return; }
      state.sentAt = performance.now();
      if (state.ws && state.ws.readyState === WebSocket.OPEN) {
        state.ws.send(await blob.arrayBuffer());
      } else {
        // Fallback without a WebSocket: one HTTP upload per frame (no tracking across frames).
        try {
          const form = new FormData();
          form.append("file", blob, "frame.jpg");
          const r = await api("/v1/predict", { method: "POST", body: form });
          state.busy = false;
          onLiveResult({ width: r.image.width, faces: r.faces });
        } catch (e) {
          state.busy = false;
          setStatus(`Server: ${e.message}`, true);
        }
        setTimeout(sendFrame, 0);
      }
    }, "image/jpeg", 0.75);
  }

  async function stopCamera() {
    if (!state.live && !state.stream) return;
    state.live = false;
    if (state.ws) { const ws = state.ws; state.ws = null; ws.close(); }
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
    state.stream = null;
    state.busy = false;
    el.video.srcObject = null;
    el.camera.textContent = "Start webcam";
    el.camera.setAttribute("aria-pressed", "false");
    setMode("idle");
    setStatus("Webcam stopped.");
  }

  // ----- render loop (video and live modes) ------------------------------------------------------------------
  function frame() {
    if (state.mode === "live" && el.video.videoWidth) {
      sizeOverlay(el.video.videoWidth, el.video.videoHeight);
      drawFaces(state.faces, state.scale);
      const t = performance.now() / 1000 - state.t0;
      drawTimeline(Math.max(0, t - LIVE_WINDOW_S), Math.max(t, 1));
    } else if (state.mode === "video" && state.video && el.video.videoWidth) {
      sizeOverlay(el.video.videoWidth, el.video.videoHeight);
      const faces = videoFacesAt(el.video.currentTime);
      drawFaces(faces, el.video.videoWidth / state.video.video.width);
      const dur = state.video.video.duration_s || el.video.duration || 1;
      drawTimeline(0, dur, el.video.currentTime);
    }
    requestAnimationFrame(frame);
  }

  // ----- wiring ----------------------------------------------------------------------------------------------
  el.video.addEventListener("error", () => {
    if (state.mode === "video") {
      setStatus("This browser cannot play this video format; the analysis is listed under Faces and Timeline.", true);
    }
  });
  for (const radio of document.querySelectorAll('input[name="runon"]')) {
    radio.addEventListener("change", () => { if (radio.checked) setRunOn(radio.value); });
  }
  el.file.addEventListener("change", () => { onFile(el.file.files[0]); });
  el.camera.addEventListener("click", async () => {
    if (state.live) return stopCamera();
    try {
      await startCamera();
    } catch (e) {
      await stopCamera();
      setStatus(`Cannot start the webcam: ${e.message}`, true);
    }
  });
  el.cancel.addEventListener("click", () => {
    if (state.job) fetch(`/v1/jobs/${state.job}`, { method: "DELETE" });
  });
  // The whole page accepts a dropped file; the dashed box only shows where.
  document.body.addEventListener("dragover", (e) => { e.preventDefault(); el.drop.classList.add("over"); });
  document.body.addEventListener("dragleave", () => el.drop.classList.remove("over"));
  document.body.addEventListener("drop", (e) => {
    e.preventDefault();
    el.drop.classList.remove("over");
    if (e.dataTransfer.files.length) onFile(e.dataTransfer.files[0]);
  });
  window.addEventListener("resize", () => {
    if (state.mode === "image") { drawFaces(state.faces, 1); drawTimeline(0, 1); }
  });
  loadModel().then(() => drawTimeline(0, 1));
  checkBrowserMode();
  requestAnimationFrame(frame);
})();
