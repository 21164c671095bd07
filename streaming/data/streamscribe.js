// streamscribe.js: live captions from Amazon Transcribe in a web page, without the AWS SDK.
//
// The page never holds credentials. Either the app's server presigns a WebSocket URL
// (streaming.web.aiohttp_presign_handler or AsgiPresignApp) and the page talks to the
// service itself, or the app's server relays (streaming.web.aiohttp_relay_handler or
// AsgiRelayApp) and the page sends raw PCM to it.
//
//   import { Captioner } from "/streamscribe.js";
//   const captions = new Captioner({ presign: "/presign", languageCode: "en-US" });
//   captions.addEventListener("final", (e) => show(e.detail.text));
//   captions.addEventListener("error", (e) => alert(e.detail.error.code + ": " + e.detail.error.message));
//   await captions.start();            // the microphone; captions.stop() ends the audio
//
// Events: "open", "partial" and "final" ({text, stable, unstable, result}), "reconnecting"
// ({attempt}), "error" ({error: TranscribeError}), "closed" ({code}). No dependency.

const RETRYABLE = new Set(["InternalFailureException", "ServiceUnavailableException", "ConnectionLost"]);
const AUDIO_HEADERS = { ":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream" };
const enc = new TextEncoder(), dec = new TextDecoder();

/** An error as the service (or the app's server) named it: `code` is the exception type. */
export class TranscribeError extends Error {
  constructor(code, message) { super(message); this.name = "TranscribeError"; this.code = code; }
}

// -- event-stream messages (CRC-32 framed; string headers) ----------------------------------------
const CRC = new Uint32Array(256).map((_, n) => {
  let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1; return c >>> 0;
});
function crc32(bytes) {
  let c = 0xFFFFFFFF;
  for (let i = 0; i < bytes.length; i++) c = CRC[(c ^ bytes[i]) & 0xFF] ^ (c >>> 8);
  return ~c >>> 0;
}
export function encodeMessage(headers, payload) {
  const parts = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = enc.encode(name), v = enc.encode(value);
    parts.push(Uint8Array.of(n.length), n, Uint8Array.of(7, v.length >> 8, v.length & 0xFF), v);
  }
  const headerLength = parts.reduce((s, p) => s + p.length, 0), total = 16 + headerLength + payload.length;
  const out = new Uint8Array(total), view = new DataView(out.buffer);
  view.setUint32(0, total); view.setUint32(4, headerLength); view.setUint32(8, crc32(out.subarray(0, 8)));
  let at = 12; for (const p of parts) { out.set(p, at); at += p.length; }
  out.set(payload, at); view.setUint32(total - 4, crc32(out.subarray(0, total - 4)));
  return out;
}
export function decodeMessage(buffer) {
  const bytes = new Uint8Array(buffer), view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const total = view.getUint32(0), headerLength = view.getUint32(4), headers = {};
  if (total !== bytes.length || view.getUint32(8) !== crc32(bytes.subarray(0, 8))
      || view.getUint32(total - 4) !== crc32(bytes.subarray(0, total - 4)))
    throw new TranscribeError("SerializationException", "a damaged event-stream message");
  for (let at = 12; at < 12 + headerLength;) {
    const n = bytes[at], name = dec.decode(bytes.subarray(at + 1, at + 1 + n)), type = bytes[at + 1 + n];
    at += 2 + n;
    if (type === 0 || type === 1) { headers[name] = type === 0; continue; }
    if (type !== 6 && type !== 7) throw new TranscribeError("SerializationException", "header type " + type);
    const len = view.getUint16(at); headers[name] = dec.decode(bytes.subarray(at + 2, at + 2 + len)); at += 2 + len;
  }
  return { headers, payload: dec.decode(bytes.subarray(12 + headerLength, total - 4)) };
}

// -- the microphone: an AudioWorklet that resamples to the stream's rate and cuts chunks ------------
const WORKLET = `registerProcessor("streamscribe-pcm", class extends AudioWorkletProcessor {
  constructor(o) { super(); const p = o.processorOptions; this.step = sampleRate / p.rate; this.size = p.size;
    this.out = new Int16Array(p.size); this.n = 0; this.pos = 0; this.sum = 0; this.count = 0; }
  process(inputs) { const x = inputs[0] && inputs[0][0]; if (!x) return true;
    for (let i = 0; i < x.length; i++) { this.sum += x[i]; this.count++; this.pos += 1;
      if (this.pos >= this.step) { this.pos -= this.step; const v = this.sum / this.count; this.sum = 0; this.count = 0;
        this.out[this.n++] = Math.max(-1, Math.min(1, v)) * 0x7FFF;
        if (this.n === this.size) { this.port.postMessage(this.out.buffer, [this.out.buffer]);
          this.out = new Int16Array(this.size); this.n = 0; } } }
    return true; } });`;

/** Captions for one stream of audio; see the module comment. */
export class Captioner extends EventTarget {
  constructor(options = {}) {
    super();
    if (!options.presign === !options.relay) throw new TypeError("give either presign (a URL) or relay (a URL)");
    this.options = { languageCode: "en-US", sampleRate: 16000, chunkMs: 100, maxReconnects: 3, params: {}, ...options };
    this.state = "idle";
    this._socket = null; this._held = []; this._attempt = 0; this._origin = 0; this._sent = 0;
    this._ended = false; this._settled = new Set(); this._stopCapture = () => {};
  }

  /** Start captioning `source` (a MediaStream; the microphone when omitted). */
  async start(source) {
    // Speech recognition wants the voice as it is: no echo cancellation, noise suppression or gain riding.
    const stream = source || await navigator.mediaDevices.getUserMedia({ audio: this.options.audio ||
      { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    await this.open();
    const { sampleRate, chunkMs } = this.options;
    // The browser resamples best: a context at the stream's rate where the browser can feed
    // it the microphone; else the worklet resamples (low-pass, then interpolation).
    let context = new AudioContext({ sampleRate }), input;
    try { input = context.createMediaStreamSource(stream); }
    catch (_) { context.close(); context = new AudioContext(); input = context.createMediaStreamSource(stream); }
    if (context.state === "suspended") await context.resume();  // start() runs from a click: this is allowed
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    await context.audioWorklet.addModule(url); URL.revokeObjectURL(url);
    const node = new AudioWorkletNode(context, "streamscribe-pcm",
      { processorOptions: { rate: sampleRate, size: Math.round(sampleRate * chunkMs / 1000) } });
    node.port.onmessage = (e) => this.sendPcm(new Uint8Array(e.data));
    input.connect(node);
    this._stopCapture = () => { input.disconnect(); node.disconnect(); if (!source) stream.getTracks().forEach((t) => t.stop()); context.close(); };
  }

  /** Open the connection (start() does; call it yourself to send PCM with sendPcm()). */
  async open() {
    this._set(this._attempt ? "reconnecting" : "connecting");
    const { presign, relay } = this.options;
    const socket = new WebSocket(presign ? await this._presigned() : this._relayUrl(relay));
    socket.binaryType = "arraybuffer";
    this._socket = socket;
    socket.onmessage = (e) => this._receive(e.data);
    socket.onclose = (e) => this._closed(socket, e.code);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new TranscribeError("ConnectionLost", "the WebSocket did not open"));
    }).catch((error) => { this._fail(error); throw error; });
    this._set("open");
    for (const pcm of this._held.splice(0)) this._send(pcm);
  }

  /** Send 16-bit little-endian mono PCM at the stream's rate (held while reconnecting). */
  sendPcm(pcm) {
    if (this._ended || this.state === "failed" || this.state === "closed") return;
    this._sent += pcm.length / 2 / this.options.sampleRate;
    if (this.state === "open") this._send(pcm);
    else if (this._held.push(pcm) > 300) this._held.shift();  // at most 30 s of 100 ms chunks wait
  }

  /** End the audio; resolves when the last captions have come and the connection closed. */
  async stop() {
    this._stopCapture(); this._stopCapture = () => {};
    if (this._ended || !this._socket) return;
    this._ended = true;
    const closed = new Promise((resolve) => this.addEventListener("closed", resolve, { once: true }));
    if (this.options.presign) this._send(new Uint8Array(0));  // an empty AudioEvent ends the audio
    else if (this._socket.readyState === WebSocket.OPEN) this._socket.send(JSON.stringify({ type: "end" }));
    await closed;
  }

  async _presigned() {
    const { presign, languageCode, sampleRate, params } = this.options;
    const query = new URLSearchParams({ "language-code": languageCode, "sample-rate": String(sampleRate), "media-encoding": "pcm", ...params });
    const reply = await (this.options.fetch || fetch)(presign + (presign.includes("?") ? "&" : "?") + query, { cache: "no-store", credentials: "same-origin" });
    let body = {}; try { body = await reply.json(); } catch (_) { /* not JSON: the status says enough */ }
    if (!reply.ok || !body.url) {
      const error = body.error || {};
      throw this._fail(new TranscribeError(error.code || "PresignFailed", error.message || "the presign endpoint answered " + reply.status));
    }
    return body.url;
  }

  _relayUrl(relay) {
    const url = new URL(relay, location.href);
    url.protocol = url.protocol.replace("http", "ws");
    const { languageCode, sampleRate, params } = this.options;
    for (const [k, v] of Object.entries({ "language-code": languageCode, "sample-rate": String(sampleRate), ...params })) url.searchParams.set(k, v);
    return url.href;
  }

  _send(pcm) {
    const socket = this._socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) { if (pcm.length) this._held.push(pcm); return; }
    socket.send(this.options.presign ? encodeMessage(AUDIO_HEADERS, pcm) : pcm);
  }

  _receive(data) {
    if (typeof data === "string") {  // the relay's JSON
      const m = JSON.parse(data);
      if (m.type === "error") this._fail(new TranscribeError(m.code, m.message));
      else if (m.type === "partial" || m.type === "final") this._caption(m.type, m.result);
      return;
    }
    let message;
    try { message = decodeMessage(data); } catch (error) { this._fail(error); return; }
    const type = message.headers[":message-type"];
    if (type === "exception" || type === "error") {
      let text = message.payload; try { text = JSON.parse(message.payload).Message || text; } catch (_) { /* plain text */ }
      const code = message.headers[":exception-type"] || message.headers[":error-code"] || "ServiceError";
      this._fail(new TranscribeError(code, text), RETRYABLE.has(code));
      return;
    }
    const transcript = JSON.parse(message.payload).Transcript;
    for (const r of (transcript && transcript.Results) || []) {
      const shifted = { ...r, StartTime: r.StartTime + this._origin, EndTime: r.EndTime + this._origin };
      this._caption(r.IsPartial ? "partial" : "final", shifted);
    }
  }

  _caption(kind, result) {
    if (kind === "final") { if (this._settled.has(result.ResultId)) return; this._settled.add(result.ResultId); }
    const alt = (result.Alternatives && result.Alternatives[0]) || { Transcript: "", Items: [] };
    const words = (alt.Items || []).filter((i) => i.Type === "pronunciation");
    const marked = words.some((i) => "Stable" in i);
    const stable = marked ? words.filter((i) => i.Stable).map((i) => i.Content).join(" ") : alt.Transcript;
    const unstable = marked ? words.filter((i) => !i.Stable).map((i) => i.Content).join(" ") : "";
    this.dispatchEvent(new CustomEvent(kind, { detail: { text: alt.Transcript, stable, unstable, result } }));
  }

  _fail(error, retry = false) {
    this._lastError = error;
    if (retry && !this._ended && this._attempt < this.options.maxReconnects) { this._retry = true; return error; }
    if (this.state !== "failed") { this._set("failed"); this.dispatchEvent(new CustomEvent("error", { detail: { error } })); }
    return error;
  }

  _closed(socket, code) {
    if (socket !== this._socket) return;
    const abnormal = code !== 1000 && !this._ended;
    if ((this._retry || abnormal) && this.state !== "failed" && !this._ended && this._attempt < this.options.maxReconnects) {
      this._retry = false; this._attempt += 1; this._origin = this._sent;
      this.dispatchEvent(new CustomEvent("reconnecting", { detail: { attempt: this._attempt, error: this._lastError } }));
      this.open().catch(() => {});
      return;
    }
    if (abnormal && this.state !== "failed") this._fail(new TranscribeError("ConnectionLost", "the connection closed (" + code + ")"));
    if (this.state !== "failed") this._set("closed");
    this._stopCapture();
    this.dispatchEvent(new CustomEvent("closed", { detail: { code } }));
  }

  _set(state) { this.state = state; if (state === "open") this.dispatchEvent(new Event("open")); }
}
