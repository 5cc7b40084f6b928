// Audio in and out of the page: a player for streamed 16-bit PCM, WAV files, and the
// microphone, captured at 16 kHz mono with the browser's processing turned off.
export const PCM_RATE = 24_000; // what /v1/audio/speech and /v1/audio/chat stream as pcm
export const CAPTURE_RATE = 16_000; // what the live endpoints take without resampling

// Plays little-endian s16 mono as it arrives, each piece queued after the one before.
export class PcmPlayer {
  constructor(rate = PCM_RATE) {
    this.rate = rate;
    this.context = new AudioContext();
    this.next = 0;
    this.samples = 0;
    this.firstSoundAt = null;
    this.sources = new Set();
    this.carry = new Uint8Array(0);
    this.chunks = [];
  }

  async push(bytes) {
    const joined = new Uint8Array(this.carry.length + bytes.length);
    joined.set(this.carry);
    joined.set(bytes, this.carry.length);
    const usable = joined.length - (joined.length % 2);
    this.carry = joined.slice(usable);
    if (!usable) return;
    const pcm = new Int16Array(joined.buffer.slice(0, usable));
    this.chunks.push(pcm);
    await this.context.resume();
    this.schedule(pcm);
  }

  schedule(pcm) {
    const buffer = this.context.createBuffer(1, pcm.length, this.rate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const at = Math.max(this.next, this.context.currentTime + 0.02);
    source.start(at);
    this.next = at + buffer.duration;
    this.samples += pcm.length;
    this.firstSoundAt ??= performance.now() + (at - this.context.currentTime) * 1000;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  get seconds() {
    return this.samples / this.rate;
  }

  // Resolves once everything queued has been heard.
  finished() {
    const left = Math.max(0, this.next - this.context.currentTime);
    return new Promise((resolve) => setTimeout(resolve, left * 1000));
  }

  stop() {
    for (const source of this.sources) source.stop();
    this.sources.clear();
    this.context.close();
  }

  wav() {
    return wav(this.chunks, this.rate);
  }
}

export function wav(chunks, rate) {
  const length = chunks.reduce((sum, c) => sum + c.length, 0);
  const header = new DataView(new ArrayBuffer(44));
  const text = (at, s) => [...s].forEach((ch, i) => header.setUint8(at + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  header.setUint32(4, 36 + length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  header.setUint32(16, 16, true);
  header.setUint16(20, 1, true); // PCM
  header.setUint16(22, 1, true); // mono
  header.setUint32(24, rate, true);
  header.setUint32(28, rate * 2, true);
  header.setUint16(32, 2, true);
  header.setUint16(34, 16, true);
  text(36, "data");
  header.setUint32(40, length * 2, true);
  return new Blob([header, ...chunks], { type: "audio/wav" });
}

export function toPcm16(floats) {
  const pcm = new Int16Array(floats.length);
  for (let i = 0; i < floats.length; i++) {
    const s = Math.max(-1, Math.min(1, floats[i]));
    pcm[i] = s < 0 ? s * 32768 : s * 32767;
  }
  return pcm;
}

// The microphone as 100-ms pieces of s16 PCM, and a level for a meter.
export class Microphone {
  constructor({ onPcm, onLevel }) {
    this.onPcm = onPcm;
    this.onLevel = onLevel;
  }

  async start() {
    if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
      throw new Error("The browser allows the microphone only on https:// or http://localhost pages.");
    }
    // Echo cancellation, noise suppression and gain control each hurt recognition.
    const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 };
    this.stream = await navigator.mediaDevices.getUserMedia({ audio });
    this.context = this.openContext();
    await this.context.audioWorklet.addModule("/web/capture-worklet.js");
    const source = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, "vocalis-capture", { channelCountMode: "explicit", channelCount: 1 });
    this.node.port.onmessage = ({ data }) => {
      this.onLevel?.(data.level);
      this.onPcm(toPcm16(data.samples));
    };
    source.connect(this.node);
    await this.context.resume();
    return this.context.sampleRate;
  }

  // The browser resamples the 44.1/48-kHz track to 16 kHz itself where it can.
  openContext() {
    try {
      return new AudioContext({ sampleRate: CAPTURE_RATE });
    } catch {
      return new AudioContext();
    }
  }

  async stop() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.node?.port.close();
    await this.context?.close();
    this.onLevel?.(0);
  }
}
