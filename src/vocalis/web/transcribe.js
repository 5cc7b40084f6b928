// The Transcribe panel: a file becomes a durable job; its progress is polled, its segments
// shown with timestamps that seek the player, and its result downloaded in any format.
import { explain, getJson, request, save } from "./api.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 400;
const EXTENSIONS = { srt: "srt", vtt: "vtt", verbose_json: "json", json: "json", text: "txt" };
let job = null;

export function clock(seconds) {
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600);
  const m = String(Math.floor((whole % 3600) / 60)).padStart(2, "0");
  const s = String(whole % 60).padStart(2, "0");
  return h ? `${h}:${m}:${s}` : `${m}:${s}`;
}

async function transcribe(event) {
  event.preventDefault();
  const file = $("transcribe-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  form.append("model", $("stt-model").value);
  form.append("response_format", "verbose_json");
  if ($("stt-language").value) form.append("language", $("stt-language").value);
  form.append("timestamp_granularities[]", "segment");
  if ($("word-timestamps").checked) form.append("timestamp_granularities[]", "word");
  const player = $("transcribe-player");
  player.src = URL.createObjectURL(file);
  player.hidden = false;
  $("transcript").replaceChildren();
  $("transcript-download").disabled = true;
  setResult("Uploading…");
  busy(true);
  try {
    job = await (await request("/v1/audio/jobs", { method: "POST", body: form })).json();
    job = await follow(job);
    if (job.status === "completed") await show(job);
    else setResult(job.status === "cancelled" ? "Cancelled." : `Failed: ${job.error?.message}`, job.status !== "cancelled");
  } catch (error) {
    setResult(explain(error), true);
  } finally {
    busy(false);
  }
}

async function follow(current) {
  while (!["completed", "failed", "cancelled"].includes(current.status)) {
    progress(current);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    current = await getJson(`/v1/audio/jobs/${current.id}`);
  }
  return current;
}

function progress(current) {
  const { seconds, total_seconds: total } = current.progress;
  $("transcribe-progress").hidden = false;
  $("transcribe-meter").value = total ? seconds / total : 0;
  const state = current.status === "queued" ? "Waiting for a free slot" : "Transcribing";
  $("transcribe-progress-text").textContent = total ? `${state}: ${clock(seconds)} of ${clock(total)}` : `${state}…`;
}

async function show(done) {
  $("transcribe-meter").value = 1;
  const result = await getJson(`/v1/audio/jobs/${done.id}/result?format=verbose_json`);
  $("transcript").replaceChildren(...result.segments.map((s) => segment(s, result.words || [])));
  $("transcribe-progress-text").textContent = `Done: ${clock(result.duration)} of audio`;
  const count = result.segments.length;
  setResult(`${count} segment${count === 1 ? "" : "s"} · language ${result.language} · ${result.duration.toFixed(1)} s`);
  $("transcript-download").disabled = false;
}

function segment(piece, words) {
  const line = document.createElement("p");
  const stamp = document.createElement("button");
  stamp.type = "button";
  stamp.className = "stamp";
  stamp.textContent = clock(piece.start);
  stamp.setAttribute("aria-label", `Play from ${clock(piece.start)}`);
  stamp.addEventListener("click", () => seek(piece.start));
  const text = document.createElement("span");
  text.className = "text";
  const own = words.filter((w) => w.start >= piece.start - 0.01 && w.start < piece.end);
  if (own.length) text.append(...own.flatMap((w) => [word(w), " "]));
  else text.textContent = piece.text.trim();
  line.append(stamp, text);
  return line;
}

function word(w) {
  const span = document.createElement("span");
  span.className = "word";
  span.textContent = w.word.trim();
  span.title = `${clock(w.start)} – ${w.end.toFixed(2)} s`;
  span.addEventListener("click", () => seek(w.start));
  return span;
}

function seek(seconds) {
  const player = $("transcribe-player");
  player.currentTime = seconds;
  player.play().catch(() => {});
}

async function download() {
  if (!job) return;
  const format = $("stt-format").value;
  try {
    const response = await request(`/v1/audio/jobs/${job.id}/result?format=${format}`);
    const base = (job.filename || "transcript").replace(/\.[^.]+$/, "");
    save(await response.blob(), `${base}.${EXTENSIONS[format]}`);
  } catch (error) {
    setResult(explain(error), true);
  }
}

async function cancel() {
  if (job) await request(`/v1/audio/jobs/${job.id}`, { method: "DELETE" }).catch(() => {});
}

function setResult(text, bad = false) {
  $("transcribe-result").textContent = text;
  $("transcribe-result").className = bad ? "result bad" : "result";
}

function busy(on) {
  $("transcribe-button").disabled = on;
  $("transcribe-cancel").hidden = !on;
}

function dropped(event) {
  event.preventDefault();
  $("drop-zone").classList.remove("over");
  if (event.dataTransfer.files.length) {
    $("transcribe-file").files = event.dataTransfer.files;
    named();
  }
}

const named = () => ($("file-name").textContent = $("transcribe-file").files[0]?.name || "");

export function setUpTranscribe() {
  $("transcribe-form").addEventListener("submit", transcribe);
  $("transcribe-cancel").addEventListener("click", cancel);
  $("transcript-download").addEventListener("click", download);
  $("transcribe-file").addEventListener("change", named);
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", dropped);
}
