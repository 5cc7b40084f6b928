// The Speak panel: voices grouped by engine and language, speech played as it streams.
import { explain, getJson, postJson, save } from "./api.js";
import { PcmPlayer } from "./audio.js";

const $ = (id) => document.getElementById(id);
const languageNames = new Intl.DisplayNames(["en"], { type: "language" });
let voices = [];
let player = null;
let controller = null;
let last = null; // the latest request, for Download

export function languageName(code) {
  try {
    return languageNames.of(code) || code;
  } catch {
    return code;
  }
}

export async function loadVoices() {
  const [voiceList, modelList] = await Promise.all([getJson("/v1/audio/voices"), getJson("/v1/audio/models")]);
  voices = voiceList.voices;
  fillModels(modelList.models.map((m) => m.id));
  fillVoices();
}

function fillModels(ids) {
  $("speech-model").replaceChildren(...ids.map((id) => new Option(id, id)));
}

function fillVoices() {
  const query = $("voice-search").value.trim().toLowerCase();
  const chosen = $("voice").value;
  const shown = voices.filter((v) => !query || label(v).toLowerCase().includes(query));
  $("voice").replaceChildren(...groups(shown));
  if (shown.some((v) => v.id === chosen)) $("voice").value = chosen;
  const kokoro = voices.filter((v) => v.model === "kokoro").map((v) => new Option(v.name || v.id, v.id));
  const blend = $("blend-voice");
  const blended = blend.value;
  blend.replaceChildren(new Option("No blend", ""), ...kokoro);
  blend.value = blended;
  pickedVoice();
}

const label = (v) => `${v.name || v.id} ${v.id} ${v.model} ${languageName(v.language)} ${v.gender || ""}`;

function groups(list) {
  const byGroup = new Map();
  for (const voice of list) {
    const name = `${voice.model} · ${languageName(voice.language)}`;
    if (!byGroup.has(name)) byGroup.set(name, []);
    byGroup.get(name).push(voice);
  }
  return [...byGroup].map(([name, members]) => {
    const group = document.createElement("optgroup");
    group.label = name;
    for (const v of members) group.append(new Option(`${v.name || v.id}${v.gender && v.gender !== "unknown" ? ` (${v.gender})` : ""}`, v.id));
    return group;
  });
}

// Choosing a voice chooses its engine; a blend is Kokoro's alone.
function pickedVoice() {
  const voice = voices.find((v) => v.id === $("voice").value);
  if (!voice) return;
  if ([...$("speech-model").options].some((o) => o.value === voice.model)) $("speech-model").value = voice.model;
  $("blend").hidden = voice.model !== "kokoro";
}

function voiceString() {
  const first = $("voice").value;
  const second = $("blend").hidden ? "" : $("blend-voice").value;
  if (!second || second === first) return first;
  const weight = Number($("blend-weight").value);
  return `${first}(${100 - weight})+${second}(${weight})`;
}

function body(format, stream) {
  return {
    model: $("speech-model").value,
    input: $("speak-text").value,
    voice: voiceString(),
    speed: Number($("speed").value),
    response_format: format,
    stream,
  };
}

async function speak(event) {
  event.preventDefault();
  stop();
  const result = $("speak-result");
  result.className = "result";
  result.textContent = "Speaking…";
  setBusy(true);
  const request = body("pcm", true);
  const started = performance.now();
  controller = new AbortController();
  player = new PcmPlayer();
  try {
    const response = await postJson("/v1/audio/speech", request, { signal: controller.signal });
    const reader = response.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await player.push(value);
    }
    const ended = performance.now();
    last = { request, player };
    report(started, ended, player);
    $("speak-download").disabled = false;
  } catch (error) {
    if (error.name !== "AbortError") {
      result.className = "result bad";
      result.textContent = explain(error);
    }
  } finally {
    setBusy(false);
  }
}

function report(started, ended, played) {
  const result = $("speak-result");
  const first = (played.firstSoundAt - started) / 1000;
  Object.assign(result.dataset, {
    firstAudioMs: Math.round(played.firstSoundAt - started),
    responseEndMs: Math.round(ended - started),
    audioSeconds: played.seconds.toFixed(3),
    contextState: played.context.state,
  });
  result.textContent =
    `First audio after ${first.toFixed(2)} s · ${played.seconds.toFixed(1)} s of audio · ` +
    `received in ${((ended - started) / 1000).toFixed(2)} s`;
}

function stop() {
  controller?.abort();
  player?.stop();
  player = null;
}

function setBusy(busy) {
  $("speak-button").disabled = busy;
  $("speak-stop").disabled = !busy && !player;
}

// The file in the chosen format: the samples just heard as pcm or wav, else synthesized again.
async function download() {
  if (!last) return;
  const format = $("speech-format").value;
  const name = `speech.${format}`;
  try {
    if (format === "wav") return save(last.player.wav(), name);
    if (format === "pcm") return save(new Blob(last.player.chunks), name);
    const response = await postJson("/v1/audio/speech", { ...last.request, response_format: format, stream: false });
    save(await response.blob(), name);
  } catch (error) {
    $("speak-result").textContent = explain(error);
  }
}

export function setUpSpeak() {
  $("speak-form").addEventListener("submit", speak);
  $("speak-stop").addEventListener("click", () => {
    stop();
    setBusy(false);
  });
  $("speak-download").addEventListener("click", download);
  $("voice-search").addEventListener("input", fillVoices);
  $("voice").addEventListener("change", pickedVoice);
  $("speed").addEventListener("input", () => ($("speed-out").textContent = `${Number($("speed").value).toFixed(1)}×`));
  $("blend-weight").addEventListener("input", () => ($("blend-weight-out").textContent = `${$("blend-weight").value}%`));
}

export const currentVoice = voiceString;
