// In-browser mode: the server's own models (the detectors + the classifier exported to ONNX) run in this page
// with onnxruntime-web, which the server serves from its npm install. Every number of the pipeline (anchors,
// thresholds, pass sizes, alignment template, preprocessing, labels) comes from GET /v1/browser-model. Still
// images go through the same design as on the server (ferkit.faces.auto: two YuNet passes, flip TTA); live
// video through full-range BlazeFace, one view per face, as the server's streams.
"use strict";

window.ferkitLocal = (() => {
  let ort = null, det = null, clf = null, photo = null, info = null, anchors = null, loading = null;

  async function bytes(url) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  async function status() {
    const res = await fetch("/v1/browser-model");
    return res.ok ? res.json() : { available: false, reason: `server answered ${res.status}` };
  }

  function load() {
    if (!loading) {
      loading = (async () => {
        info = await status();
        if (!info.available) throw new Error(info.reason);
        const mod = await import(info.runtime);
        ort = mod.InferenceSession ? mod : mod.default;
        ort.env.wasm.wasmPaths = info.wasm_path;
        ort.env.wasm.numThreads = 1;   // threads need cross-origin isolation; one is plenty for these models
        const [d, c] = await Promise.all([bytes(info.detector.url), bytes(info.classifier)]);
        det = await ort.InferenceSession.create(d, { executionProviders: ["wasm"] });
        clf = await ort.InferenceSession.create(c, { executionProviders: ["wasm"] });
        photo = info.photo_detector
          ? await ort.InferenceSession.create(await bytes(info.photo_detector.url), { executionProviders: ["wasm"] })
          : null;
        anchors = makeAnchors(info.detector.size, info.detector.grids);
        return info;
      })();
      loading.catch(() => { loading = null; });
    }
    return loading;
  }

  // Anchor centres in [0, 1], in the network's output order (as ferkit.faces.blazeface.anchor_centres).
  function makeAnchors(size, grids) {
    const out = [];
    for (const [stride, perCell] of grids) {
      const n = size / stride;
      for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
        for (let k = 0; k < perCell; k++) out.push([(x + 0.5) / n, (y + 0.5) / n]);
      }
    }
    return out;
  }

  const canvas = (w, h) => {
    const c = document.createElement("canvas");
    c.width = w; c.height = h;
    return c;
  };

  function iou(a, b) {
    const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const inter = w * h;
    return inter / Math.max((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter, 1e-9);
  }

  // The same face even where IoU is low (ferkit.faces.blazeface.centre_close): centres within half the larger
  // side on both axes, sides within a factor 2.
  function centreClose(a, b) {
    const sa = Math.max(a[2] - a[0], a[3] - a[1]), sb = Math.max(b[2] - b[0], b[3] - b[1]);
    const big = Math.max(sa, sb), small = Math.max(Math.min(sa, sb), 1e-9);
    const dx = Math.abs((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2), dy = Math.abs((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2);
    return dx < 0.5 * big && dy < 0.5 * big && big / small < 2;
  }

  // BlazeFace's blending NMS (ferkit.faces.blazeface.weighted_nms): a cluster is the best remaining candidate
  // with those overlapping it by IoU or centred on it.
  function weightedNms(cands, thr) {
    cands.sort((a, b) => b.score - a.score);
    let rest = cands, kept = [];
    while (rest.length) {
      const top = rest[0], cluster = [], left = [];
      for (const c of rest) (iou(top.box, c.box) > thr || centreClose(top.box, c.box) ? cluster : left).push(c);
      let wsum = 0;
      const box = [0, 0, 0, 0], kps = top.kps.map(() => [0, 0]);
      for (const c of cluster) {
        wsum += c.score;
        c.box.forEach((v, i) => { box[i] += v * c.score; });
        c.kps.forEach((p, i) => { kps[i][0] += p[0] * c.score; kps[i][1] += p[1] * c.score; });
      }
      kept.push({ box: box.map((v) => v / wsum), kps: kps.map((p) => [p[0] / wsum, p[1] / wsum]), score: top.score });
      rest = left;
    }
    return kept;
  }

  // One YuNet pass (ferkit.faces.yunet.YuNet.candidates): the picture resized by `scale`, zero-padded to a
  // multiple of 32, BGR values 0-255; candidates in original pixels with their side in the pass's pixels.
  async function yunetPass(source, w, h, scale) {
    const nw = Math.max(1, Math.round(w * scale)), nh = Math.max(1, Math.round(h * scale));
    const pw = Math.ceil(nw / 32) * 32, ph = Math.ceil(nh / 32) * 32;
    const c = canvas(pw, ph), ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, pw, ph);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(source, 0, 0, nw, nh);
    const rgba = ctx.getImageData(0, 0, pw, ph).data, n = pw * ph, x = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) {
      x[i] = rgba[4 * i + 2]; x[n + i] = rgba[4 * i + 1]; x[2 * n + i] = rgba[4 * i];
    }
    const out = await photo.run({ [photo.inputNames[0]]: new ort.Tensor("float32", x, [1, 3, ph, pw]) });
    const cands = [], p = info.photo_detector;
    for (const stride of p.strides) {
      const cols = pw / stride, rows = ph / stride;
      const cls = out[`cls_${stride}`].data, obj = out[`obj_${stride}`].data;
      const bbox = out[`bbox_${stride}`].data, kps = out[`kps_${stride}`].data;
      for (let i = 0; i < rows * cols; i++) {
        const clamp = (v) => Math.min(1, Math.max(0, v));
        const score = Math.sqrt(clamp(cls[i]) * clamp(obj[i]));
        if (score < p.min_score) continue;
        const gx = i % cols, gy = Math.floor(i / cols);
        const cx = (gx + bbox[4 * i]) * stride, cy = (gy + bbox[4 * i + 1]) * stride;
        const bw = Math.exp(bbox[4 * i + 2]) * stride, bh = Math.exp(bbox[4 * i + 3]) * stride;
        const pt = (k) => [(kps[10 * i + 2 * k] + gx) * stride / scale, (kps[10 * i + 2 * k + 1] + gy) * stride / scale];
        const [re, le, nose, mr, ml] = [0, 1, 2, 3, 4].map(pt);
        cands.push({ box: [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2].map((v) => v / scale),
                     kps: [re, le, nose, [(mr[0] + ml[0]) / 2, (mr[1] + ml[1]) / 2]], score,
                     side: Math.max(bw, bh) });
      }
    }
    return cands;
  }

  // A still image's faces, as ferkit.faces.yunet.YuNet.detect with auto's photo settings: a fine pass keeping
  // faces up to fine_max px, a close-up pass keeping those of coarse_min px and more, merged, inner boxes dropped.
  async function detectPhoto(source, w, h) {
    const p = info.photo_detector, side = Math.max(w, h);
    // ferkit.faces.yunet.YuNet.first_scale: longer side to max_side, at most max_pixels pixels
    let fine = p.max_side ? Math.min(p.max_upscale, p.max_side / side) : 1;
    if (p.max_pixels) fine = Math.min(fine, Math.sqrt(p.max_pixels / (w * h)));
    let cands = await yunetPass(source, w, h, fine);
    if (p.close_side) {
      cands = cands.filter((c) => c.side <= p.fine_max);
      const coarse = Math.min(1, p.close_side / side);
      cands = cands.concat((await yunetPass(source, w, h, coarse)).filter((c) => c.side >= p.coarse_min));
    }
    let faces = [];
    for (const f of weightedNms(cands, p.iou_threshold)) {
      const box = f.box.map((v, i) => Math.max(0, Math.min(i % 2 ? h : w, v)));
      if (box[2] - box[0] < 2 || box[3] - box[1] < 2) continue;
      faces.push({ box, landmarks: f.kps, score: f.score, template: p.template });   // YuNet's own template
    }
    const sideOf = (b) => Math.max(b[2] - b[0], b[3] - b[1]);
    faces = faces.filter((f) => !faces.some((g) => g !== f && sideOf(g.box) >= p.inner_ratio * sideOf(f.box)
      && (f.box[0] + f.box[2]) / 2 >= g.box[0] && (f.box[0] + f.box[2]) / 2 <= g.box[2]
      && (f.box[1] + f.box[3]) / 2 >= g.box[1] && (f.box[1] + f.box[3]) / 2 <= g.box[3]));
    const m = info.detector.min_face;
    return faces.filter((f) => !m || Math.min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= m)
      .sort((a, b) => b.score - a.score);
  }

  async function detect(source, w, h) {
    const S = info.detector.size, scale = S / Math.max(w, h);
    const nw = Math.max(1, Math.round(w * scale)), nh = Math.max(1, Math.round(h * scale));
    const px = Math.floor((S - nw) / 2), py = Math.floor((S - nh) / 2);
    const c = canvas(S, S), ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, S, S);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(source, px, py, nw, nh);
    const rgba = ctx.getImageData(0, 0, S, S).data, x = new Float32Array(3 * S * S);
    for (let i = 0; i < S * S; i++) {
      for (let ch = 0; ch < 3; ch++) x[ch * S * S + i] = rgba[4 * i + ch] / 127.5 - 1;
    }
    const out = await det.run({ [det.inputNames[0]]: new ort.Tensor("float32", x, [1, 3, S, S]) });
    const logits = out[det.outputNames[0]].data, raw = out[det.outputNames[1]].data;
    const cands = [];
    for (let i = 0; i < anchors.length; i++) {
      const score = 1 / (1 + Math.exp(-Math.max(-80, Math.min(80, logits[i]))));
      if (score < info.detector.min_score) continue;
      const r = (k) => raw[i * 16 + k] / S, [ax, ay] = anchors[i];
      const cx = ax + r(0), cy = ay + r(1), hw = r(2) / 2, hh = r(3) / 2;
      const kps = [];
      for (let k = 0; k < 6; k++) kps.push([ax + r(4 + 2 * k), ay + r(5 + 2 * k)]);
      cands.push({ box: [cx - hw, cy - hh, cx + hw, cy + hh], kps, score });
    }
    const faces = [];
    for (const f of weightedNms(cands, info.detector.iou_threshold)) {
      const bx = (v, i) => (v * S - (i % 2 ? py : px)) / scale;
      const box = f.box.map(bx).map((v, i) => Math.max(0, Math.min(i % 2 ? h : w, v)));
      if (box[2] - box[0] < 2 || box[3] - box[1] < 2) continue;
      const m = info.detector.min_face;
      if (m && Math.min(box[2] - box[0], box[3] - box[1]) < m) continue;
      faces.push({ box, landmarks: f.kps.map(([u, v]) => [(u * S - px) / scale, (v * S - py) / scale]), score: f.score });
    }
    return faces;
  }

  // Least-squares similarity (rotation, scale, shift) from 4 landmarks onto the crop template, as
  // ferkit.faces.alignment.umeyama_similarity; in 2-D it has this closed form.
  function similarity(src, dst) {
    const n = src.length, mean = (a, k) => a.reduce((s, p) => s + p[k], 0) / n;
    const msx = mean(src, 0), msy = mean(src, 1), mdx = mean(dst, 0), mdy = mean(dst, 1);
    let num = 0, cross = 0, v = 0;
    for (let i = 0; i < n; i++) {
      const sx = src[i][0] - msx, sy = src[i][1] - msy, dx = dst[i][0] - mdx, dy = dst[i][1] - mdy;
      num += sx * dx + sy * dy;
      cross += sx * dy - sy * dx;
      v += sx * sx + sy * sy;
    }
    const a = num / Math.max(v, 1e-12), b = cross / Math.max(v, 1e-12);
    return [a, -b, mdx - (a * msx - b * msy), b, a, mdy - (b * msx + a * msy)];
  }

  // How far (pixels, with a 2-pixel interpolation margin) the S x S crop of matrix m reaches outside a w x h
  // picture; 0 when it stays inside.
  function overshoot(m, S, w, h) {
    const [m00, m01, m02, m10, m11, m12] = m, det = m00 * m11 - m01 * m10;
    let out = 0;
    for (const [u, v] of [[0, 0], [S, 0], [0, S], [S, S]]) {   // crop corners back in the picture
      const px = (m11 * (u - m02) - m01 * (v - m12)) / det, py = (-m10 * (u - m02) + m00 * (v - m12)) / det;
      out = Math.max(out, -px, -py, px - w, py - h);
    }
    return out > 0 ? Math.ceil(out) + 2 : 0;
  }

  // The server aligns with cv2.warpAffine(..., BORDER_REPLICATE): a crop reaching past the picture's edge repeats
  // the edge pixels (a face cut off by the frame). A canvas would leave that part blank, so the crops are taken
  // from a copy of the picture with a margin that repeats its edge rows and columns.
  function replicatePadded(source, w, h, pad) {
    const c = canvas(w + 2 * pad, h + 2 * pad), ctx = c.getContext("2d");
    ctx.imageSmoothingEnabled = false;                       // stretched 1-pixel strips = repeated edge pixels
    ctx.drawImage(source, 0, 0, w, h, pad, pad, w, h);
    const strips = [[0, 0, w, 1, pad, 0, w, pad], [0, h - 1, w, 1, pad, pad + h, w, pad],
      [0, 0, 1, h, 0, pad, pad, h], [w - 1, 0, 1, h, pad + w, pad, pad, h],
      [0, 0, 1, 1, 0, 0, pad, pad], [w - 1, 0, 1, 1, pad + w, 0, pad, pad],
      [0, h - 1, 1, 1, 0, pad + h, pad, pad], [w - 1, h - 1, 1, 1, pad + w, pad + h, pad, pad]];
    for (const s of strips) ctx.drawImage(source, ...s);
    return c;
  }

  // flip: each face also mirrored left to right, the two views' probabilities averaged (the server's tta="flip"
  // for still images).
  async function classify(source, faces, w, h, flip = false) {
    const pre = info.preprocess, S = pre.source_size, I = pre.input_size, off = Math.floor((S - I) / 2);
    const views = flip ? 2 : 1, N = faces.length;
    const x = new Float32Array(views * N * I * I);
    const c = canvas(S, S), ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.imageSmoothingQuality = "high";
    // 2x3 matrices, original -> crop pixels, row-major: x' = m00 x + m01 y + m02, y' = m10 x + m11 y + m12
    // each face onto the template of the detector that placed its keypoints (ferkit.faces.templates)
    const matrices = faces.map((f) => similarity(f.landmarks.slice(0, 4),
      (f.template || info.template).map(([u, v]) => [u * S, v * S])));
    const pad = Math.max(0, ...matrices.map((m) => overshoot(m, S, w, h)));
    const picture = pad ? replicatePadded(source, w, h, pad) : source;
    faces.forEach((f, n) => {
      const [m00, m01, m02, m10, m11, m12] = matrices[n];
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = "#808080";
      ctx.fillRect(0, 0, S, S);
      ctx.setTransform(m00, m10, m01, m11, m02, m12);   // the canvas takes the columns
      ctx.drawImage(picture, -pad, -pad);                 // the padded copy: its pixel (pad, pad) is the picture's (0, 0)
      const rgba = ctx.getImageData(0, 0, S, S).data;
      for (let yy = 0; yy < I; yy++) for (let xx = 0; xx < I; xx++) {
        const j = 4 * ((yy + off) * S + xx + off);
        const grey = Math.round(0.299 * rgba[j] + 0.587 * rgba[j + 1] + 0.114 * rgba[j + 2]);
        const value = (grey / 255 - pre.mean[0]) / pre.std[0];
        x[n * I * I + yy * I + xx] = value;
        if (flip) x[(N + n) * I * I + yy * I + (I - 1 - xx)] = value;   // the mirror image
      }
    });
    const out = await clf.run({ [clf.inputNames[0]]: new ort.Tensor("float32", x, [views * N, 1, I, I]) });
    const logits = out.logits ? out.logits.data : out[clf.outputNames[0]].data, L = info.labels.length;
    const T = info.temperature || 1;   // calibration temperature of the served model: softmax(logits / T)
    const softmax = (k) => {
      const z = Array.from(logits.slice(k * L, (k + 1) * L), (v) => v / T), mx = Math.max(...z);
      const e = z.map((v) => Math.exp(v - mx)), sum = e.reduce((s, v) => s + v, 0);
      return e.map((v) => v / sum);
    };
    faces.forEach((f, n) => {
      let p = softmax(n);
      if (flip) { const q = softmax(N + n); p = p.map((v, i) => (v + q[i]) / 2); }
      f.probabilities = Object.fromEntries(info.labels.map((l, i) => [l, p[i]]));
      f.label = info.labels[p.indexOf(Math.max(...p))];
      f.probability = f.probabilities[f.label];
    });
    return faces;
  }

  // One picture (img, video, canvas or ImageBitmap) -> faces in its own pixels. still: a photo, analysed as
  // POST /v1/predict does (photo detector passes, flip TTA as the server's setting); else a live video frame, as
  // the server's live socket does (full-range BlazeFace, one view).
  async function predict(source, w, h, still = false) {
    await load();
    const photoPasses = still && photo !== null;
    const faces = photoPasses ? await detectPhoto(source, w, h) : await detect(source, w, h);
    return faces.length ? classify(source, faces, w, h, still && info.tta === "flip") : [];
  }

  // What ran in this browser for a still image (or a live frame), said beside the result; names the server's
  // passes the page could not run.
  function describe(still = false) {
    if (!info) return "";
    if (!still) return "full-range BlazeFace, one view per face, as the server's live video";
    const tta = info.tta === "flip" ? "flip TTA" : "one view per face";
    return photo !== null ? `the server's photo design: two YuNet passes, ${tta}`
      : `full-range BlazeFace only: the server's photo passes do not run in this browser; ${tta}`;
  }

  // Greedy IoU tracking for live video, so the timeline can follow faces (the server uses ferkit's tracker).
  function tracker() {
    let next = 1, tracks = [];
    return (faces) => {
      const free = new Set(tracks.map((_, i) => i)), seen = [];
      for (const f of faces) {
        let best = -1, bestIou = 0.3;
        for (const i of free) { const v = iou(tracks[i].box, f.box); if (v > bestIou) { best = i; bestIou = v; } }
        if (best >= 0) { free.delete(best); f.track_id = tracks[best].id; } else f.track_id = next++;
        seen.push({ id: f.track_id, box: f.box, missed: 0 });
      }
      for (const i of free) if (++tracks[i].missed < 10) seen.push(tracks[i]);
      tracks = seen;
      return faces;
    };
  }

  return { status, load, predict, describe, tracker };
})();
