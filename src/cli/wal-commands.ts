// The command-line wiring of PostgreSQL's WAL hooks: wal-push (archive_command),
// the hidden wal-pusher it starts, wal-fetch (restore_command), and the
// long-running wal-stream. PostgreSQL
// runs these once per WAL file, so each action imports as little as it can:
// wal-push tries its light fast path before the full command loads.

import type { Command } from "commander";
import type { CommandEnv, GlobalOptions } from "./session.ts";

export function registerWalCommands(
  program: Command,
  commandEnv: (command: Command) => Promise<CommandEnv>,
): void {
  program
    .command("wal-push")
    .description(
      "archive one WAL file into the repository (PostgreSQL's archive_command: wal-push SOURCE %p)",
    )
    .argument("<source>", "source name (a postgres source with mode: physical or both)")
    .argument("<path>", "the file PostgreSQL passes as %p")
    .action(async (source: string, path: string, _options, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const { tryFastWalPush } = await import("./commands/wal-push-fast.ts");
      if (await tryFastWalPush(globals.config, source, path, !!globals.json)) return;
      const { walPushCommand } = await import("./commands/wal.ts");
      await walPushCommand(await commandEnv(command), source, path);
    });

  program
    .command("wal-pusher", { hidden: true })
    .description("the background pusher of wal_push.async (started by wal-push)")
    .argument("<source>", "source name")
    .argument("<wal-dir>", "the cluster's pg_wal directory")
    .action(async (source: string, walDir: string, _options, command: Command) => {
      const { walPusherCommand } = await import("./commands/wal.ts");
      await walPusherCommand(await commandEnv(command), source, walDir);
    });

  program
    .command("wal-stream")
    .description(
      "stream WAL with pg_receivewal and a replication slot into the archive until SIGTERM (wal_stream: RPO of seconds)",
    )
    .argument("<source>", "source name (a postgres source with mode: physical or both, and wal_stream)")
    .option("--drop-slot", "remove the source's replication slot instead (the streamer is retired)")
    .option("--dry-run", "with --drop-slot: say which slot would be removed, remove nothing")
    .action(async (source: string, flags: { dropSlot?: boolean; dryRun?: boolean }, command: Command) => {
      const { walStreamCommand } = await import("./commands/wal-stream.ts");
      await walStreamCommand(await commandEnv(command), source, flags);
    });

  program
    .command("wal-fetch")
    .description(
      "write one archived WAL file where PostgreSQL asks (restore_command: wal-fetch SOURCE %f %p); exit 1 when it is not archived",
    )
    .argument("<source>", "source name")
    .argument("<name>", "the file name PostgreSQL passes as %f")
    .argument("<path>", "where to write it, as PostgreSQL passes %p")
    .option("--system-id <id>", "the cluster's system identifier (default: the data directory it runs in)")
    .action(async (source: string, name: string, path: string, flags, command: Command) => {
      const { walFetchCommand } = await import("./commands/wal.ts");
      await walFetchCommand(await commandEnv(command), source, name, path, flags);
    });
}
