// What a reader of one rendered page would find wrong, as [{element, problem}]. Run by browser_check with
// execute_async_script: the last argument is the callback. Only local files are judged (remote ones are blocked).
const done = arguments[arguments.length - 1];
const defects = [];
const LOAD_MS = 30000;
// tqdm's bar, " 40%|####      | 4/10 [00:01<00:02]", wherever it was written.
const PROGRESS_BAR = /\d+%\|[^|\n]*\|\s*\d+\/\d+/;
let column = null;  // the text column, found once the page has loaded
const reported = new Set();  // outputs already named as errors, not named again as stderr

function local(url) {
  if (!url) return false;
  const u = new URL(url, location.href);
  return u.origin === location.origin || u.protocol === "data:" || u.protocol === "blob:";
}

function settle(promise, ms) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve("timeout"), ms))]);
}

// "the 2nd table under 'Table 1 and Fig. 1, beside the paper'": the element's kind, rank and nearest heading.
function where(el, kind) {
  const same = Array.from(document.querySelectorAll(kind));
  let heading = null;
  for (let s = el.closest("section"); s && !heading; s = s.parentElement && s.parentElement.closest("section")) {
    heading = s.querySelector(":scope > h1, :scope > h2, :scope > h3, :scope > h4");
  }
  const src = el.getAttribute("src") || "";
  const name = src.startsWith("data:") ? "" : src.split("/").pop();
  const title = heading ? ` under '${heading.textContent.replace(/[#¶]/g, "").trim()}'` : "";
  return `${kind} ${same.indexOf(el) + 1} of ${same.length}${name ? ` (${name})` : ""}${title}`;
}

function blank(img) {
  const w = Math.min(img.naturalWidth, 300), h = Math.max(1, Math.round(img.naturalHeight * w / img.naturalWidth));
  const canvas = Object.assign(document.createElement("canvas"), {width: w, height: h});
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  for (let i = 4; i < px.length; i += 4) {
    for (let k = 0; k < 4; k++) if (Math.abs(px[i + k] - px[k]) > 3) return false;
  }
  return true;
}

async function images() {
  const local_images = Array.from(document.images).filter((img) => local(img.currentSrc || img.src));
  await Promise.all(local_images.map((img) => {
    img.loading = "eager";
    return settle(img.decode().catch(() => null), 10000);
  }));
  for (const img of local_images) {
    if (!img.complete || img.naturalWidth === 0) {
      defects.push({element: where(img, "img"), problem: "image does not load"});
    } else if (column.contains(img) && blank(img)) {
      defects.push({element: where(img, "img"), problem: "empty figure (one colour)"});
    }
  }
}

function media_source(el) {
  const source = el.querySelector("source");
  return el.currentSrc || el.getAttribute("src") || (source && source.getAttribute("src"));
}

async function media() {
  const players = Array.from(document.querySelectorAll("audio, video")).filter((el) => local(media_source(el)));
  const states = await Promise.all(players.map((el) => {
    if (el.readyState >= 1) return "ok";
    const loaded = new Promise((resolve) => {
      el.addEventListener("loadedmetadata", () => resolve("ok"), {once: true});
      el.addEventListener("error", () => resolve("error"), {once: true});
      (el.querySelector("source:last-of-type") || el).addEventListener("error", () => resolve("error"), {once: true});
    });
    el.preload = "metadata";
    el.load();
    return settle(loaded, 10000);
  }));
  players.forEach((el, i) => {
    if (states[i] !== "ok") {
      const kind = el.tagName.toLowerCase();
      defects.push({element: where(el, kind), problem: `${kind} does not load (${states[i]})`});
    }
  });
}

function errors() {
  for (const out of document.querySelectorAll(".cell_output .output, .cell_output pre")) {
    const text = out.textContent;
    const traceback = out.classList.contains("traceback") || out.classList.contains("error") ||
      text.includes("Traceback (most recent call last)");
    if (traceback || (out.classList.contains("stderr") && /\b\w*(Error|Exception)\b:/.test(text))) {
      reported.add(out);
      defects.push({element: where(out.closest(".cell") || out, ".cell"),
                    problem: `error output: ${text.trim().split("\n").pop().slice(0, 160)}`});
    }
  }
}

// A table, figure or image is cut off when it sticks out of its box: the nearest scroll container the reader can use
// (which must itself fit the column), else the nearest clipping ancestor, else the text column.
function overflow() {
  const col = column.getBoundingClientRect();
  for (const kind of ["table", "figure", "img"]) {
    for (const el of column.querySelectorAll(kind)) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      let box = column, scrolls = false;
      for (let a = el.parentElement; a && a !== column; a = a.parentElement) {
        const ox = getComputedStyle(a).overflowX;
        if (ox === "auto" || ox === "scroll") { box = a; scrolls = true; break; }
        if (ox === "hidden" || ox === "clip") { box = a; break; }
      }
      const b = box.getBoundingClientRect();
      const outer = scrolls ? b : r;
      const limit = scrolls ? col : b;
      if (outer.right > limit.right + 1 || outer.left < limit.left - 1) {
        defects.push({element: where(el, kind), problem: `cut off: ${Math.round(outer.width)} px wide in a ` +
                      `${Math.round(limit.width)} px ${scrolls || box === column ? "column" : "clipping box"}`});
      }
    }
  }
}

// The whole page wider than the window: name the first element of the text column that sticks out of it.
function page_width() {
  if (document.documentElement.scrollWidth <= window.innerWidth + 1) return;
  const out = (el) => el.getBoundingClientRect().right > window.innerWidth + 1;
  const wide = Array.from(column.querySelectorAll("*")).find(out);
  const kind = wide ? wide.tagName.toLowerCase() : "page";
  defects.push({element: wide ? where(wide, kind) : "page", problem: `the page scrolls sideways: ` +
                `${document.documentElement.scrollWidth} px wide in a ${window.innerWidth} px window`});
}

function empty_figures() {
  for (const fig of column.querySelectorAll("figure")) {
    if (!fig.querySelector("img, svg, canvas, video, audio, table, object, iframe")) {
      defects.push({element: where(fig, "figure"), problem: "empty figure (no image)"});
    }
  }
}

// Stream output the reader sees: stderr of any kind (progress bars, warnings, logs) and progress bars on stdout. A cell
// tagged remove-stderr renders no stderr element; one collapsed out of sight (hide-output) is not visible.
function streams() {
  const cells = new Map();
  for (const out of document.querySelectorAll(".cell_output .output.stderr, .cell_output .output.stream")) {
    const stderr = out.classList.contains("stderr");
    const text = (out.querySelector("pre") || out).textContent;  // the stream, not the copy button's label
    if (reported.has(out) || !out.checkVisibility() || !(stderr || PROGRESS_BAR.test(text))) continue;
    const cell = out.closest(".cell") || out;
    cells.set(cell, (cells.get(cell) || []).concat([{text, stderr}]));
  }
  for (const [cell, outs] of cells) {
    const last = outs[outs.length - 1];
    const line = last.text.split(/[\r\n]+/).map((l) => l.trim()).filter((l) => l).pop() || "";
    const stderr = outs.some((o) => o.stderr), kinds = new Set(outs.map((o) => (o.stderr ? "stderr" : "stdout")));
    defects.push({element: where(cell, ".cell"), problem: `${outs.length} visible ${[...kinds].join("+")} ` +
                  `output(s), last: "${line.slice(0, 120)}"${stderr ? " (tag the cell remove-stderr)" : ""}`});
  }
}

// The page as the reader gets it: loaded (a bounded wait: a page can still be loading, e.g. after a redirect).
function page_loaded() {
  const load = new Promise((resolve) => {
    if (document.readyState === "complete") resolve("loaded");
    else window.addEventListener("load", () => resolve("loaded"), {once: true});
  });
  return settle(load, LOAD_MS);
}

(async () => {
  try {
    const state = await page_loaded();
    column = ["article.bd-article", "main", "body"].map((s) => document.querySelector(s)).find((e) => e);
    if (state !== "loaded" || !column) {
      done([{element: "page", problem: `did not finish loading in ${LOAD_MS / 1000} s (${document.readyState})`}]);
      return;
    }
    await images();
    await media();
    errors();
    streams();
    overflow();
    page_width();
    empty_figures();
    done(defects);
  } catch (err) {
    done([{element: "page", problem: `audit failed: ${err}`}]);
  }
})();
