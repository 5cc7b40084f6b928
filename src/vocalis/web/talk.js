// The Talk panel: push to talk; the recording goes to /v1/audio/chat and the LLM's reply
// streams back as text and speech (server-sent events).
import { events, explain, request } from "./api.js";
import { Microphone, PcmPlayer, wav } from "./audio.js";
import { currentVoice } from "./speak.js";

const $ = (id) => document.getElementById(id);
let history = [];
let recording = null;

async function press() {
  if (recording) return;
  const chunks = [];
  recording = { chunks, microphone: new Microphone({ onPcm: (pcm) => chunks.push(pcm) }) };
  $("talk-button").textContent = "Listening… let go to send";
  try {
    recording.rate = await recording.microphone.start();
  } catch (error) {
    line("error", error.message || String(error));
    recording = null;
    $("talk-button").textContent = "Hold to talk";
  }
}

async function release() {
  if (!recording?.rate) return;
  const { chunks, microphone, rate } = recording;
  recording = null;
  $("talk-button").textContent = "Hold to talk";
  await microphone.stop();
  if (chunks.length < 3) return line("error", "That was too short: hold the button while you speak.");
  await ask(wav(chunks, rate));
}

async function ask(audio) {
  const form = new FormData();
  form.append("file", audio, "speech.wav");
  form.append("messages", JSON.stringify(history));
  form.append("voice", currentVoice());
  form.append("response_format", "pcm");
  form.append("stream_format", "sse");
  const player = new PcmPlayer();
  let heard = "";
  let reply = null;
  try {
    const response = await request("/v1/audio/chat", { method: "POST", body: form });
    for await (const event of events(response)) {
      if (event.type === "chat.transcript") line("You", (heard = event.text));
      else if (event.type === "chat.text.delta") (reply ??= line("Vocalis", "")).lastChild.textContent += event.delta;
      else if (event.type === "chat.audio.delta") await player.push(Uint8Array.from(atob(event.audio), (c) => c.charCodeAt(0)));
      else if (event.type === "chat.text.done") history.push({ role: "user", content: heard }, { role: "assistant", content: event.text });
      else if (event.type === "error") line("error", event.error.message);
    }
    $("conversation").dataset.replySeconds = player.seconds.toFixed(2);
  } catch (error) {
    line("error", explain(error));
  }
}

function line(who, text) {
  const p = document.createElement("p");
  const speaker = document.createElement("span");
  speaker.className = "speaker";
  speaker.textContent = who === "error" ? "Error: " : `${who}: `;
  p.append(speaker, document.createTextNode(text));
  if (who === "error") p.className = "result bad";
  $("conversation").append(p);
  return p;
}

export function setUpTalk() {
  const button = $("talk-button");
  button.addEventListener("pointerdown", press);
  button.addEventListener("pointerup", release);
  button.addEventListener("pointerleave", release);
  button.addEventListener("keydown", (e) => {
    if ((e.key === " " || e.key === "Enter") && !e.repeat) {
      e.preventDefault();
      press();
    }
  });
  button.addEventListener("keyup", (e) => (e.key === " " || e.key === "Enter") && release());
  $("talk-reset").addEventListener("click", () => {
    history = [];
    $("conversation").replaceChildren();
  });
}

export function showTalk(configured) {
  $("talk").hidden = !configured;
  $("talk-link").hidden = !configured;
}
