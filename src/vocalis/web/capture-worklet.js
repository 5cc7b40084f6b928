// Runs on the audio thread: mixes the input to mono and hands over 100-ms pieces.
class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.piece = new Float32Array(Math.round(sampleRate / 10));
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const frames = channels[0].length;
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (const channel of channels) sum += channel[i];
      this.piece[this.filled++] = sum / channels.length;
      if (this.filled === this.piece.length) this.send();
    }
    return true;
  }

  send() {
    let energy = 0;
    for (const s of this.piece) energy += s * s;
    const rms = Math.sqrt(energy / this.piece.length);
    // A meter that moves for speech: -60 dBFS empty, 0 dBFS full.
    const level = Math.max(0, Math.min(1, 1 + Math.log10(rms + 1e-9) / 3));
    this.port.postMessage({ samples: this.piece.slice(), level });
    this.filled = 0;
  }
}

registerProcessor("vocalis-capture", Capture);
