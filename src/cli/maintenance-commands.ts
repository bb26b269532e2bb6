// The command-line wiring of repository upkeep: keys, repairs, migration and
// stale locks. Wiring only, like main.ts: each action imports its command
// module when it runs.

import type { Command } from "commander";
import type { CommandEnv } from "./session.ts";

export function registerMaintenanceCommands(
  program: Command,
  commandEnv: (command: Command) => Promise<CommandEnv>,
): void {
  const key = program.command("key").description("manage the passwords that unlock the repository");
  key
    .command("list")
    .description("list the repository's keys")
    .action(async (_options, command: Command) => {
      const { keyListCommand } = await import("./commands/key.ts");
      await keyListCommand(await commandEnv(command));
    });
  key
    .command("add")
    .description("add a password; it is read from $LIFEBOAT_NEW_PASSWORD or --new-password-file")
    .option("--new-password-env <name>", "variable holding the new password", "LIFEBOAT_NEW_PASSWORD")
    .option("--new-password-file <path>", "file whose first line is the new password")
    .action(async (flags, command: Command) => {
      const { keyAddCommand } = await import("./commands/key.ts");
      await keyAddCommand(await commandEnv(command), flags);
    });
  key
    .command("remove")
    .description("remove a key by id (or unique prefix)")
    .argument("<id>", "key id")
    .action(async (id: string, _options, command: Command) => {
      const { keyRemoveCommand } = await import("./commands/key.ts");
      await keyRemoveCommand(await commandEnv(command), id);
    });

  const repair = program.command("repair").description("repair damaged repository metadata");
  repair
    .command("config")
    .description("rewrite a damaged config from the authenticated copy sealed in the key files")
    .action(async (_options, command: Command) => {
      const { repairConfigCommand } = await import("./commands/repair.ts");
      await repairConfigCommand(await commandEnv(command));
    });
  repair
    .command("index")
    .description("rebuild the index (format 2) from the headers of the packs, replacing every index object")
    .option("--dry-run", "read the pack headers and report what the new index holds, write nothing")
    .action(async (flags: { dryRun?: boolean }, command: Command) => {
      const { repairIndexCommand } = await import("./commands/repair.ts");
      await repairIndexCommand(await commandEnv(command), flags);
    });

  program
    .command("migrate")
    .description(
      "convert a format 1 repository (a chunk per object) to format 2 (packs and an index), in place",
    )
    .option("--dry-run", "count what would be converted, change nothing")
    .action(async (flags: { dryRun?: boolean }, command: Command) => {
      const { migrateCommand } = await import("./commands/migrate.ts");
      await migrateCommand(await commandEnv(command), flags);
    });

  program
    .command("unlock")
    .description("remove stale locks left by dead processes")
    .option("--remove-all", "remove every lock, live or not (only when you know the holders are gone)")
    .option("--dry-run", "list the locks, remove nothing")
    .action(async (flags, command: Command) => {
      const { unlockCommand } = await import("./commands/unlock.ts");
      await unlockCommand(await commandEnv(command), flags);
    });
}
