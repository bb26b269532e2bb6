// Micro-benchmark of the content-defined chunker: prints MB/s over random
// data (the worst case: no early boundaries to skip) with the default sizes.
// Run: node bench/chunker.ts [megabytes]

import { randomBytes } from "node:crypto";
import { Chunker, DEFAULT_CHUNKER } from "../src/repository/chunker.ts";
import { gearTableOf, generateMasterKey } from "../src/repository/crypto.ts";

const megabytes = Number(process.argv[2] ?? 256);
const data = randomBytes(megabytes * 1024 * 1024);
const chunker = new Chunker(gearTableOf(generateMasterKey()), DEFAULT_CHUNKER);

async function* pieces(size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

function cutOnly(): { chunks: number } {
  let chunks = 0;
  for (let offset = 0; offset < data.length; chunks++) offset += chunker.cut(data, offset, data.length);
  return { chunks };
}

async function streamed(): Promise<{ chunks: number }> {
  let chunks = 0;
  for await (const _chunk of chunker.chunks(pieces(64 * 1024))) chunks++;
  return { chunks };
}

async function measure(label: string, run: () => Promise<{ chunks: number }> | { chunks: number }) {
  await run(); // warm up the JIT
  const rounds = 3;
  let best = Infinity;
  let chunks = 0;
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    chunks = (await run()).chunks;
    best = Math.min(best, performance.now() - started);
  }
  const mbps = data.length / 1e6 / (best / 1000);
  const average = data.length / chunks / 1024;
  console.log(`${label}: ${mbps.toFixed(0)} MB/s, ${chunks} chunks, average ${average.toFixed(0)} KiB`);
}

await measure("cut() over one buffer", cutOnly);
await measure("chunks() over 64 KiB pieces", streamed);
