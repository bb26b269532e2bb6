// The `command` source in lifeboat.yaml: a service without a dedicated engine
// (Qdrant's snapshot API, clickhouse-backup, an MLflow artifact export) backed
// up by the user's own shell commands, as Velero backup hooks and Kanister
// blueprints do: capture, restore, fingerprint and scratch are actions the
// user writes, Lifeboat adds the repository, the guards and the proof.

import { z } from "zod";
import { commonSourceFields, duration } from "../../config/source-fields.ts";

/** Names Lifeboat sets itself (LIFEBOAT_TARGET, ...) or reads its own secrets from (LIFEBOAT_PASSWORD). */
const reservedPrefix = "LIFEBOAT_";

const variableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name such as QDRANT_API_KEY")
  .refine((name) => !name.toUpperCase().startsWith(reservedPrefix), {
    message: `names starting with ${reservedPrefix} are Lifeboat's own (its repository password among them) and are never passed on`,
  });

const shellCommand = (what: string) => z.string().trim().min(1).describe(what);

export const commandSourceSchema = z.strictObject({
  engine: z.literal("command"),
  capture: shellCommand(
    "Shell command (/bin/sh -c) that captures the service. Its standard output is the artifact, streamed into the repository; with capture_dir: true it writes files into $LIFEBOAT_CAPTURE_DIR instead. A non-zero exit (even after output) records no snapshot.",
  ),
  capture_dir: z
    .boolean()
    .default(false)
    .describe(
      "The capture command writes files into the empty directory $LIFEBOAT_CAPTURE_DIR (its stdout is ignored); Lifeboat stores that directory as a tar artifact.",
    ),
  restore: shellCommand(
    "Shell command that restores into $LIFEBOAT_TARGET (the --to value or a drill's scratch target). It reads the artifact on stdin, or, for capture_dir sources, the files in $LIFEBOAT_RESTORE_DIR. It starts only after the whole artifact was fetched and verified.",
  ),
  fingerprint: shellCommand(
    'Shell command that prints JSON facts about the data: {"counts": {"k": 1}, "hashes": {"k": "..."}} or a flat object of numbers (counts) and strings (hashes). Run right after capture with LIFEBOAT_TARGET unset (facts of the source) and after a restore with LIFEBOAT_TARGET set (facts of the target, compared with the snapshot\'s). Without it the snapshot\'s fingerprint is the artifact\'s size and SHA-256, and restores cannot be verified.',
  ).optional(),
  probe: shellCommand(
    "Shell command that prints how many things are at $LIFEBOAT_TARGET (an integer; 0 means empty). Restores refuse a non-empty target without --force; without a probe every target but a drill's scratch target counts as non-empty.",
  ).optional(),
  env: z
    .array(variableName)
    .default([])
    .refine((names) => new Set(names).size === names.length, { message: "a variable is named twice" })
    .describe(
      "Variables of Lifeboat's environment passed to every command (secrets such as QDRANT_API_KEY: never put them in a command or in this file). Nothing else of Lifeboat's environment reaches the commands but PATH, HOME, USER, LOGNAME, LANG, LANGUAGE, LC_*, TZ and TMPDIR. Their values are redacted from all output. A variable named here but unset is a BAD_CONFIG error.",
    ),
  timeout: duration
    .default("6h")
    .describe(
      "How long any one command (capture, restore, fingerprint, probe, scratch) may run before its whole process group is killed; default 6h.",
    ),
  target: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe(
      "What the source is, in the form --to takes (e.g. qdrant:6333): a restore whose --to equals it is refused as the source itself; without it a restore needs --target-not-source. Passed to the commands as LIFEBOAT_SOURCE.",
    ),
  scratch: z
    .strictObject({
      create: shellCommand(
        "Makes a throwaway target for a drill (a container, a collection) and prints it on stdout, in the form --to takes. $LIFEBOAT_SCRATCH_LABEL is a unique label for names.",
      ),
      destroy: shellCommand("Removes the scratch target named by $LIFEBOAT_TARGET."),
    })
    .optional()
    .describe("Commands that make and remove scratch targets, for `lifeboat drill`."),
  ...commonSourceFields,
});

export type CommandSourceConfig = z.infer<typeof commandSourceSchema>;
