// Progress bars with bytes and throughput, on a TTY only: in CI logs and
// pipes a redrawn bar is noise, so there the sink does nothing.

import cliProgress from "cli-progress";
import type { ProgressSink } from "../operations/context.ts";
import { noProgress } from "../operations/context.ts";
import { formatBytes } from "./output.ts";

export function createProgress(enabled: boolean): ProgressSink {
  if (!enabled || !process.stderr.isTTY) return noProgress;
  let bar: cliProgress.SingleBar | undefined;
  let started = 0;
  let done = 0;
  let total = 0;
  const payload = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    return { bytes: formatBytes(done), rate: `${formatBytes(done / seconds)}/s` };
  };
  return {
    start(label, totalBytes) {
      total = totalBytes ?? 0;
      done = 0;
      started = Date.now();
      const format = total
        ? `${label} [{bar}] {percentage}% | {bytes} | {rate} | eta {eta_formatted}`
        : `${label} {bytes} | {rate}`;
      bar = new cliProgress.SingleBar(
        { format, stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 5 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total || 1, 0, payload());
    },
    advance(bytes) {
      done += bytes;
      bar?.update(total ? Math.min(done, total) : 0, payload());
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
