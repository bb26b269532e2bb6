// Capture with the user's capture command. Its stdout streams into the sink
// as one artifact (never buffered: the child blocks on the pipe while the
// repository stores), or, with capture_dir, the folder it fills is stored as
// a tar stream by the files engine's own writer. The command's exit status is
// awaited before the artifact's stream ends, so a command that fails after
// writing output makes sink.write reject and no snapshot is recorded.
//
// The consistent point is whatever the command's tool gives (Qdrant's
// snapshot, clickhouse-backup's freeze); Lifeboat records the moment it
// started the command, on this machine's clock: every write the service
// acknowledged before it is in the capture, if the tool is consistent at all.

import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ArtifactSink, CaptureResult, EngineContext } from "../engine.ts";
import { LifeboatError } from "../../errors.ts";
import { captureFiles, treeArtifact } from "../files/capture.ts";
import { filesSourceSchema } from "../files/config.ts";
import type { CommandSourceConfig } from "./config.ts";
import { allowListedValues, assertNoCredentials, commandEnvironment } from "./environment.ts";
import { ArtifactMeter, parseFacts } from "./facts.ts";
import { recipeOf, stdoutArtifact, type Recipe } from "./recipe.ts";
import { commandFailure, runCollecting, runDraining, startCommand, type CommandSpec } from "./run-command.ts";

export async function captureCommand(
  source: CommandSourceConfig,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const allowListed = allowListedValues(source.env);
  assertNoCredentials({
    capture: source.capture,
    restore: source.restore,
    fingerprint: source.fingerprint,
    probe: source.probe,
    "scratch.create": source.scratch?.create,
    "scratch.destroy": source.scratch?.destroy,
  });
  const recipe = recipeOf(source, source.capture_dir ? treeArtifact : stdoutArtifact);
  context.signal?.throwIfAborted();
  const consistentAt = new Date().toISOString();
  const meter = new ArtifactMeter();
  // The sink sees the bytes through the meter: the artifact's own facts, when there is no fingerprint command.
  const metered: ArtifactSink = {
    write: (name, data) => sink.write(name, meter.measure(data)),
  };
  const spec = (extra: Record<string, string> = {}): CommandSpec => ({
    what: "capture command",
    command: source.capture,
    env: commandEnvironment(allowListed, { action: "capture", source: source.target, extra }),
    timeoutSeconds: recipe.timeout_seconds,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  if (source.capture_dir) await captureDirectory(spec, metered, context);
  else await captureStdout(spec(), metered, context);

  const fingerprint = source.fingerprint
    ? await sourceFacts(source.fingerprint, recipe, allowListed, context)
    : meter.fingerprint();
  context.log.debug(`command: captured ${meter.bytes} bytes (${recipe.mode})`);
  return {
    consistentAt,
    engineMeta: { recipe, artifact_bytes: meter.bytes },
    fingerprint,
  };
}

/** Stream stdout into the sink; the stream ends only once the command exited 0 with some output. */
async function captureStdout(spec: CommandSpec, sink: ArtifactSink, context: EngineContext): Promise<void> {
  const running = startCommand(context.runner, spec);
  let bytes = 0;
  async function* output(): AsyncGenerator<Uint8Array> {
    for await (const chunk of running.stdout as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      yield chunk;
    }
    const outcome = await running.finished;
    if (!outcome.ok) throw commandFailure(spec, outcome, "SOURCE_TOOL_FAILED", context.signal);
    // An HTTP 200 with an empty body, a tool that wrote to a file instead: nothing to restore.
    if (bytes === 0) {
      throw new LifeboatError("SOURCE_TOOL_FAILED", `${spec.what} exited 0 but printed nothing`, {
        hint: "The capture command's standard output is the artifact; with capture_dir: true it writes files into $LIFEBOAT_CAPTURE_DIR instead.",
      });
    }
  }
  try {
    await sink.write(stdoutArtifact, output());
  } finally {
    // The sink may have failed (storage down) while the command still runs: stop it, and wait for it.
    running.stop();
    await running.finished;
  }
}

/** Run the command into a fresh private folder, then store the folder with the files engine's tar writer. */
async function captureDirectory(
  spec: (extra: Record<string, string>) => CommandSpec,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<void> {
  const dir = join(context.tempDir, `command-capture-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { mode: 0o700 });
  try {
    const run = spec({ LIFEBOAT_CAPTURE_DIR: dir });
    const outcome = await runDraining(context.runner, run);
    if (!outcome.ok) throw commandFailure(run, outcome, "SOURCE_TOOL_FAILED", context.signal);
    if ((await readdir(dir)).length === 0) {
      throw new LifeboatError(
        "SOURCE_TOOL_FAILED",
        `${run.what} exited 0 but wrote nothing into $LIFEBOAT_CAPTURE_DIR`,
      );
    }
    context.signal?.throwIfAborted();
    await captureFiles(filesSourceSchema.parse({ engine: "files", path: dir }), sink, context);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch((error: Error) =>
      context.log.warn(`command: could not remove the capture folder ${dir}: ${error.message}`),
    );
  }
}

/** Facts of the source, right after the capture (LIFEBOAT_TARGET unset). */
async function sourceFacts(
  command: string,
  recipe: Recipe,
  allowListed: Readonly<Record<string, string>>,
  context: EngineContext,
) {
  const spec: CommandSpec = {
    what: "fingerprint command (of the source)",
    command,
    env: commandEnvironment(allowListed, { action: "fingerprint", source: recipe.target }),
    timeoutSeconds: recipe.timeout_seconds,
    ...(context.signal ? { signal: context.signal } : {}),
  };
  const { stdout, outcome } = await runCollecting(context.runner, spec);
  if (!outcome.ok) throw commandFailure(spec, outcome, "SOURCE_TOOL_FAILED", context.signal);
  return parseFacts(stdout, spec.what, "SOURCE_TOOL_FAILED");
}
