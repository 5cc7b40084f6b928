// The Status panel: GET /v1/status, refreshed every few seconds while the page is seen.
import { getJson } from "./api.js";
import { clock } from "./transcribe.js";

const $ = (id) => document.getElementById(id);
export const REFRESH_MS = 2000;

function cell(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

function stats(pairs) {
  const list = document.createElement("dl");
  list.className = "stats";
  for (const [name, value] of pairs) {
    const item = document.createElement("div");
    item.append(cell("dt", name), cell("dd", value));
    list.append(item);
  }
  return list;
}

function recent(requests) {
  if (!requests.length) return cell("p", "No transcription or speech yet.");
  const table = document.createElement("table");
  const head = document.createElement("tr");
  head.append(...["When", "Task", "Model", "Audio", "Took", "RTF"].map((t) => cell("th", t)));
  table.append(cell("caption", "Recent requests"), head);
  for (const r of requests) {
    const row = document.createElement("tr");
    row.append(
      ...[
        new Date(r.at * 1000).toLocaleTimeString(),
        r.task,
        r.model,
        `${r.audio_seconds.toFixed(1)} s`,
        `${r.processing_seconds.toFixed(2)} s`,
        r.real_time_factor.toFixed(3),
      ].map((t) => cell("td", t)),
    );
    table.append(row);
  }
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  wrap.append(table);
  return wrap;
}

export function render(status) {
  const q = status.queue;
  const listed = (names) => (names.length ? names.join(", ") : "none");
  $("status-body").replaceChildren(
    stats([
      ["Server", `${status.status}${status.draining ? " (draining)" : ""}`],
      ["Ready", status.ready],
      ["Version", status.version],
      ["Uptime", clock(status.uptime_seconds)],
      ["Speech-to-text loaded", listed(status.stt_models_loaded)],
      ["Text-to-speech loaded", listed(status.tts_engines_loaded)],
      ["Jobs running", `${q.running} of ${q.max_running}`],
      ["Jobs waiting", `${q.waiting} (at most ${q.max_queued})`],
      ["Live sessions", String(status.live_sessions)],
      ["API keys", status.api_keys_required ? "required" : "off"],
    ]),
    recent(status.recent_requests),
  );
  const rows = Object.entries(status.settings).map(([name, value]) => {
    const row = document.createElement("tr");
    row.append(cell("td", `VOCALIS_${name.toUpperCase()}`), cell("td", JSON.stringify(value)));
    return row;
  });
  $("settings-table").replaceChildren(...rows);
  const pill = $("server-state");
  pill.textContent = status.draining ? "draining" : status.ready === "ready" ? "ready" : status.ready;
  pill.className = `pill ${status.status === "ok" && !status.draining ? "ok" : "bad"}`;
}

export const fetchStatus = () => getJson("/v1/status");
