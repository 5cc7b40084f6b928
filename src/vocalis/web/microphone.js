// The Live microphone panel: the microphone streams to /ws/stt; partials are rewritten in
// place and each finished utterance is appended.
import { socket } from "./api.js";
import { Microphone } from "./audio.js";

const $ = (id) => document.getElementById(id);
// The server answers what is pending, then closes; this long at most.
const CLOSE_WAIT_MS = 15000;
let live = null;

class LiveTranscript {
  constructor(region) {
    this.region = region;
    this.partial = null;
  }

  showPartial(text) {
    if (!this.partial) {
      this.partial = document.createElement("p");
      this.partial.className = "partial";
      this.region.append(this.partial);
    }
    this.partial.textContent = text;
    this.region.dataset.partials = Number(this.region.dataset.partials || 0) + 1;
    this.region.scrollTop = this.region.scrollHeight;
  }

  addFinal(text) {
    this.partial?.remove();
    this.partial = null;
    if (!text.trim()) return;
    const line = document.createElement("p");
    line.className = "final";
    line.textContent = text.trim();
    this.region.append(line);
    this.region.scrollTop = this.region.scrollHeight;
  }
}

class LiveSession {
  constructor(language) {
    this.transcript = new LiveTranscript($("live-transcript"));
    this.language = language;
    this.finals = [];
    this.waiters = [];
  }

  async start() {
    this.microphone = new Microphone({
      onPcm: (pcm) => this.ws?.readyState === WebSocket.OPEN && this.ws.send(pcm.buffer),
      onLevel: (level) => showLevel(level),
    });
    const rate = await this.microphone.start();
    this.ws = socket("/ws/stt", { sample_rate: rate, language: this.language });
    this.ws.onmessage = (event) => this.received(JSON.parse(event.data));
    this.ws.onclose = (event) => this.closed(event);
    await new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error("The live transcription socket could not be opened."));
    });
    return rate;
  }

  received(message) {
    if (message.type === "partial") this.transcript.showPartial(message.text);
    else if (message.type === "transcript") {
      this.transcript.addFinal(message.text);
      this.finals.push(message.text);
    } else if (message.type === "error") say(message.error.message, true);
    else if (message.type === "buffer_limit_reached") say("The server's buffer is full: stop and start again.", true);
  }

  closed(event) {
    this.waiters.splice(0).forEach((resolve) => resolve());
    if (event.code !== 1000 && event.code !== 1005) say(`Disconnected: ${event.reason || event.code}`, true);
    setRunning(false);
  }

  // Stops the microphone, then asks to close: the server sends the last final first.
  async stop() {
    await this.microphone.stop();
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const closed = new Promise((resolve) => {
      this.waiters.push(resolve);
      setTimeout(resolve, CLOSE_WAIT_MS);
    });
    this.ws.send(JSON.stringify({ type: "close" }));
    await closed;
    this.ws.close(1000);
  }
}

function showLevel(level) {
  const meter = $("mic-level");
  meter.value = level;
  meter.dataset.peak = Math.max(level, Number(meter.dataset.peak || 0)).toFixed(3);
}

function say(text, bad = false) {
  $("mic-result").textContent = text;
  $("mic-result").className = bad ? "result bad" : "result";
}

function setRunning(running) {
  $("mic-start").disabled = running;
  $("mic-stop").disabled = !running;
}

async function start() {
  setRunning(true);
  say("Starting…");
  live = new LiveSession($("mic-language").value);
  try {
    const rate = await live.start();
    say(`Listening (${rate / 1000} kHz mono).`);
  } catch (error) {
    await live.microphone?.stop();
    live = null;
    setRunning(false);
    say(error.message || String(error), true);
  }
}

async function stop() {
  $("mic-stop").disabled = true;
  say("Finishing the last words…");
  await live?.stop();
  say(`Stopped: ${live?.finals.length ?? 0} utterances.`);
  live = null;
  setRunning(false);
}

export function setUpMicrophone() {
  $("mic-start").addEventListener("click", start);
  $("mic-stop").addEventListener("click", stop);
}
