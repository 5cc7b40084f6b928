// The page's entry point: wires each panel, loads what the server offers, keeps Status fresh.
import { ApiError, apiKey, explain, notify, saveKey } from "./api.js";
import { setUpMicrophone } from "./microphone.js";
import { languageName, loadVoices, setUpSpeak } from "./speak.js";
import { REFRESH_MS, fetchStatus, render } from "./status.js";
import { setUpTalk, showTalk } from "./talk.js";
import { setUpTranscribe } from "./transcribe.js";

const $ = (id) => document.getElementById(id);
let offered = false; // the model and language lists, filled from the first status read

function fillSpeechToText(status) {
  const models = status.stt_models_installed.length ? status.stt_models_installed : [status.default_stt_model];
  $("stt-model").replaceChildren(...models.map((id) => new Option(id, id)));
  $("stt-model").value = status.default_stt_model;
  const languages = status.languages
    .map((code) => [code, languageName(code)])
    .sort((a, b) => a[1].localeCompare(b[1]));
  for (const select of [$("stt-language"), $("mic-language")]) {
    select.replaceChildren(new Option("Detect", ""), ...languages.map(([code, name]) => new Option(`${name} (${code})`, code)));
  }
  showTalk(status.llm_configured);
  offered = true;
}

async function refresh() {
  try {
    const status = await fetchStatus();
    if (!offered) fillSpeechToText(status);
    render(status);
    notify("");
  } catch (error) {
    explain(error);
    const pill = $("server-state");
    pill.className = "pill bad";
    pill.textContent = error instanceof ApiError && error.status === 401 ? "key needed" : "unreachable";
    $("status-body").replaceChildren(Object.assign(document.createElement("p"), { textContent: error.message }));
  }
}

function setUpKey() {
  $("api-key").value = apiKey();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveKey($("api-key").value.trim());
    refresh();
  });
}

setUpKey();
setUpSpeak();
setUpTranscribe();
setUpMicrophone();
setUpTalk();
loadVoices().catch((error) => ($("speak-result").textContent = explain(error)));
refresh();
setInterval(() => document.hidden || refresh(), REFRESH_MS);
