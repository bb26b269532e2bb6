// The command-line wiring of `restore`: one source into a target (logical,
// or PostgreSQL point in time into a data directory), or with --group every
// member of a bundle into its own target. Its options are many (the PITR
// targets), so they live here rather than in main.ts.

import { Option, type Command } from "commander";
import { LifeboatError } from "../errors.ts";
import { requiredUnless } from "./required-unless.ts";
import type { CommandEnv } from "./session.ts";

/** A repeatable option's values, in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerRestoreCommand(
  program: Command,
  commandEnv: (command: Command) => Promise<CommandEnv>,
): void {
  program
    .command("restore")
    .description(
      "restore a snapshot of SOURCE into a target and verify it against the snapshot's fingerprint",
    )
    .argument("[source]", "source name (none with --group)")
    .addOption(
      requiredUnless(
        new Option(
          "--to <target>",
          "target: a postgres://, mariadb://, redis:// or nats:// URL, a file path (sqlite) or a directory (files, redis); with --group, MEMBER=TARGET once per member",
        ).argParser((value: string, previous: string | string[] | undefined) =>
          previous === undefined ? value : [...[previous].flat(), value],
        ),
        "--undo",
      ),
    )
    .option(
      "--undo <target>",
      "swap the copy the last restore into TARGET kept back into place (what is there now is kept aside in turn)",
    )
    .option(
      "--no-preserve",
      "drop what a restore replaces instead of keeping it aside (needs --confirm NAME: nothing of it is kept)",
    )
    .option("--group <group>", "restore every member of a group's bundle (--snapshot: a bundle id or latest)")
    .option("--snapshot <id>", "snapshot id, unique id prefix, or latest", "latest")
    .option("--clean", "databases: drop and recreate a non-empty target")
    .option("--force", "files/sqlite: replace a non-empty target")
    .option("--globals", "postgres: also restore roles captured with the snapshot")
    .option(
      "--include <glob>",
      "files: restore only paths matching this (repeatable), e.g. 'img/2024/**'",
      collect,
    )
    .option("--exclude <glob>", "files: leave out paths matching this (repeatable)", collect)
    .option(
      "--table <table>",
      "postgres (schema.table), sqlite: restore only this table and what it needs (repeatable)",
      collect,
    )
    .option("--schema <schema>", "postgres: restore every table of this schema (repeatable)", collect)
    .option(
      "--no-foreign-keys",
      "with --table: leave out foreign keys to tables not chosen instead of refusing",
    )
    .option(
      "--target-not-source",
      "restore even though Lifeboat cannot prove the target is not the source (identity unreadable)",
    )
    .option("--dry-run", "show what would be done, change nothing")
    .option(
      "--notify",
      "post a start message, progress updates and the end to lifeboat.yaml's notify: targets (docs/notifications.md)",
    )
    .option(
      "--notify-interval <duration>",
      "with --notify: how often a progress update goes out (default: each target's progress_interval, else 15m)",
    )
    .option("--notify-timeout <duration>", "with --notify: how long one delivery may take (default 10s)")
    .option(
      "--no-ready",
      "skip the source's after_restore hooks and ready probes (run after a restore by default)",
    )
    .option(
      "--confirm <name>",
      "the target's name (its database, or its folder's name), confirming a restore into a production target (with --group: once per such target)",
      collect,
    )
    .option(
      "--target-time <time>",
      "postgres physical: recover to this moment (ISO-8601 with a zone, e.g. '2026-01-25 14:30:00+00')",
    )
    .option("--target-lsn <lsn>", "postgres physical: recover to this WAL position (e.g. 0/3000028)")
    .option(
      "--target-name <name>",
      "postgres physical: recover to this restore point (pg_create_restore_point)",
    )
    .option("--target-xid <xid>", "postgres physical: recover to the commit of this transaction")
    .option("--immediate", "postgres physical: recover only to the end of the base backup")
    .option(
      "--latest",
      "postgres physical: recover every archived WAL record (the default for a data directory)",
    )
    .addOption(
      new Option("--target-action <action>", "postgres physical: once the target is reached")
        .choices(["promote", "pause", "shutdown"])
        .default("promote"),
    )
    .option("--target-timeline <n>", "postgres physical: recover along this timeline (default: the newest)")
    .option("--start", "postgres physical: start the restored server and wait until it reached the target")
    .option("--port <port>", "postgres physical: with --start, the port it listens on (localhost)")
    .action(async (source: string | undefined, flags, command: Command) => {
      if (flags.undo !== undefined) {
        if (source !== undefined || flags.to !== undefined || flags.group !== undefined)
          throw new LifeboatError("BAD_ARGUMENT", "restore --undo TARGET takes no source, --to or --group");
        const { undoCommand } = await import("./commands/restore-undo.ts");
        return undoCommand(await commandEnv(command), flags.undo as string, flags);
      }
      if (flags.to === undefined)
        throw new LifeboatError("BAD_ARGUMENT", "restore needs --to TARGET (or --undo TARGET)", {
          hint: "Name where to restore: `lifeboat restore SOURCE --to TARGET`.",
        });
      const to = [flags.to as string | string[]].flat();
      if (flags.group !== undefined) {
        if (source !== undefined)
          throw new LifeboatError("BAD_ARGUMENT", "restore --group takes no source name");
        const { restoreGroupCommand } = await import("./commands/restore-group.ts");
        const { RestoreNotice } = await import("./restore-notify.ts");
        const groupEnv = await commandEnv(command);
        const notice = new RestoreNotice(groupEnv, flags);
        return notice.during(() => restoreGroupCommand(groupEnv, flags.group, { ...flags, to, notice }));
      }
      if (source === undefined)
        throw new LifeboatError("BAD_ARGUMENT", "restore needs a source name (or --group GROUP)");
      if (to.length > 1) throw new LifeboatError("BAD_ARGUMENT", "--to is given more than once");
      const { restoreCommand } = await import("./commands/restore.ts");
      const { RestoreNotice } = await import("./restore-notify.ts");
      const restoreEnv = await commandEnv(command);
      const notice = new RestoreNotice(restoreEnv, flags);
      await notice.during(() => restoreCommand(restoreEnv, source, { ...flags, to: to[0]!, notice }));
    });
}
