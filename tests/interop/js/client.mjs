// Stream a PCM file through the official AWS JavaScript client (@aws-sdk/client-transcribe-streaming).
//   node client.mjs ENDPOINT_URL AKID SECRET FILE.pcm
// NODE_EXTRA_CA_CERTS must name the local endpoint's CA for https endpoints.
// Prints one JSON line per final transcript, then {"done":true}, or {"error":...,"name":...}.
import { readFileSync } from "node:fs";
import { TranscribeStreamingClient, StartStreamTranscriptionCommand } from "@aws-sdk/client-transcribe-streaming";

const [endpoint, accessKeyId, secretAccessKey, path] = process.argv.slice(2);
const audio = readFileSync(path);
const client = new TranscribeStreamingClient({ region: "us-east-1", endpoint, credentials: { accessKeyId, secretAccessKey } });

async function* audioStream() {
  for (let i = 0; i < audio.length; i += 3200) {
    yield { AudioEvent: { AudioChunk: audio.subarray(i, i + 3200) } };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

try {
  const response = await client.send(new StartStreamTranscriptionCommand({
    LanguageCode: "en-US", MediaSampleRateHertz: 16000, MediaEncoding: "pcm", AudioStream: audioStream(),
  }));
  for await (const event of response.TranscriptResultStream) {
    for (const result of event.TranscriptEvent?.Transcript?.Results ?? []) {
      if (!result.IsPartial) console.log(JSON.stringify({ final: result.Alternatives[0].Transcript }));
    }
  }
  console.log(JSON.stringify({ done: true, sessionId: response.SessionId }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error.message ?? error), name: error.name }));
  process.exitCode = 1;
} finally {
  client.destroy();
}
