// The command-line wiring of the ops surface: status, serve, alert rules,
// schedules and deploy renderers. Wiring only, like main.ts: each action
// imports its command module when it runs, so `lifeboat --help` loads none.

import type { Command } from "commander";
import type { CommandEnv } from "./session.ts";

export function registerOperationsCommands(
  program: Command,
  commandEnv: (command: Command) => Promise<CommandEnv>,
): void {
  program
    .command("status")
    .description(
      "are the sources recoverable within their objectives? newest backup, failure, drill and WAL per source (exit 13 stale, 14 failing)",
    )
    .argument("[source...]", "source names (all when none is named)")
    .option("--at <time>", "judge the objectives as of this ISO-8601 time instead of now")
    .action(async (names: string[], flags: { at?: string }, command: Command) => {
      const { statusCommand } = await import("./commands/status.ts");
      await statusCommand(await commandEnv(command), names, flags);
    });

  program
    .command("serve")
    .description("serve /metrics, /healthz/backup, /readyz and the dashboard at / until SIGTERM (read-only)")
    .option(
      "--listen <host:port>",
      "where to listen (a non-loopback address needs --token-env)",
      "127.0.0.1:9187",
    )
    .option("--token-env <name>", "environment variable holding the bearer token every request must carry")
    .option("--cache <duration>", "how long one reading of the repository serves every request", "5s")
    .action(async (flags: { listen?: string; tokenEnv?: string; cache?: string }, command: Command) => {
      const { serveCommand } = await import("./commands/serve.ts");
      await serveCommand(await commandEnv(command), flags);
    });

  program
    .command("alerts")
    .description("Prometheus alert rules derived from the declared objectives")
    .command("render")
    .description("write the rules (stdout, or --out FILE) for Prometheus or the Prometheus Operator")
    .option("--format <format>", "rules (a rule_files file) or prometheusrule (a PrometheusRule)", "rules")
    .option("--out <file>", "write here (whole or not at all) instead of stdout")
    .option(
      "--label <key=value>",
      "prometheusrule: a metadata label, e.g. release=prometheus (repeatable)",
      (pair: string, pairs: string[] | undefined) => [...(pairs ?? []), pair],
    )
    .action(async (flags: { format?: string; out?: string; label?: string[] }, command: Command) => {
      const { alertsRenderCommand } = await import("./commands/alerts.ts");
      await alertsRenderCommand(await commandEnv(command), flags);
    });

  const schedule = program
    .command("schedule")
    .description("the schedules of lifeboat.yaml (docs/schedules.md)");
  schedule
    .command("list")
    .description("each schedule's command and next run times")
    .option("--count <n>", "how many next runs to show", "3")
    .action(async (flags: { count?: string }, command: Command) => {
      const { scheduleListCommand } = await import("./commands/schedule.ts");
      await scheduleListCommand(await commandEnv(command), flags);
    });
  schedule
    .command("run")
    .description("run the schedules in the foreground until SIGTERM (one job at a time, never overlapping)")
    .option(
      "--state <file>",
      "where to remember each job's last run, for catch-up (default: in the cache folder)",
    )
    .option(
      "--listen <host:port>",
      "also serve /metrics, /healthz/backup, /readyz and the dashboard (as lifeboat serve)",
    )
    .option("--token-env <name>", "with --listen off loopback: the variable holding the bearer token")
    .action(async (flags: { state?: string; listen?: string; tokenEnv?: string }, command: Command) => {
      const { scheduleRunCommand } = await import("./commands/schedule.ts");
      await scheduleRunCommand(await commandEnv(command), flags);
    });

  const deploy = program
    .command("deploy")
    .description("render the schedules for Kubernetes, systemd or GitHub Actions");
  deploy
    .command("kubernetes")
    .description(
      "CronJobs (lifeboat-<schedule>), ConfigMap, ServiceAccount, Secret references; optionally serve",
    )
    .option("--out <dir>", "write here instead of stdout")
    .option("--check <dir>", "report every difference from the manifests deployed in DIR (exit 6 when any)")
    .option("--image <image>", "the container image with lifeboat installed")
    .option("--namespace <namespace>", "metadata.namespace of every resource")
    .option("--secret <name>", "the Secret with the repository password (and S3 keys)", "lifeboat")
    .option("--serve", "also a Deployment, Service and ServiceMonitor for lifeboat serve")
    .option("--kustomize", "a Kustomize base (one file per resource) in --out")
    .action(async (flags, command: Command) => {
      const { deployKubernetesCommand } = await import("./commands/deploy.ts");
      await deployKubernetesCommand(await commandEnv(command), flags);
    });
  deploy
    .command("systemd")
    .description("a hardened service and a timer per schedule")
    .option("--out <dir>", "write the units here instead of stdout")
    .option("--lifeboat <path>", "the lifeboat executable on the host", "/usr/local/bin/lifeboat")
    .option("--user <user>", "the user the jobs run as", "lifeboat")
    .action(async (flags, command: Command) => {
      const { deploySystemdCommand } = await import("./commands/deploy.ts");
      await deploySystemdCommand(await commandEnv(command), flags);
    });
  deploy
    .command("github-actions")
    .description("a scheduled drill workflow that uploads the drill reports")
    .option("--out <file>", "write the workflow here instead of stdout")
    .action(async (flags, command: Command) => {
      const { deployGithubActionsCommand } = await import("./commands/deploy.ts");
      await deployGithubActionsCommand(await commandEnv(command), flags);
    });
}
