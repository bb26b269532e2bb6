// lifeboat deploy kubernetes | systemd | github-actions: the schedules of
// lifeboat.yaml rendered for the scheduler a team already runs
// (docs/schedules.md, "Deploying"). Files are written whole or not at all;
// `kubernetes --check DIR` reports every difference from what is deployed.

import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { LifeboatError } from "../../errors.ts";
import { driftOf, parseManifests } from "../../report/deploy/drift.ts";
import { drillWorkflow } from "../../report/deploy/github-actions.ts";
import { kubernetesResources, kustomizeFiles, renderYamlStream } from "../../report/deploy/kubernetes.ts";
import { systemdUnits } from "../../report/deploy/systemd.ts";
import { writeFileWhole } from "../../runtime/write-whole.ts";
import { lifeboatVersion } from "../../version.ts";
import { loadSessionConfig, type CommandEnv } from "../session.ts";

async function writeFiles(
  env: CommandEnv,
  out: string,
  files: ReadonlyMap<string, string>,
  what: string,
): Promise<void> {
  for (const [name, text] of files) await writeFileWhole(join(out, name), text, { makeParents: true });
  env.output.result(
    { out, files: [...files.keys()] },
    () => `wrote ${files.size} ${what} file(s) to ${out}: ${[...files.keys()].join(", ")}`,
  );
}

export interface KubernetesFlags {
  readonly out?: string;
  readonly check?: string;
  readonly image?: string;
  readonly namespace?: string;
  readonly secret?: string;
  readonly serve?: boolean;
  readonly kustomize?: boolean;
}

export async function deployKubernetesCommand(env: CommandEnv, flags: KubernetesFlags): Promise<void> {
  const { config, path } = await loadSessionConfig(env);
  const resources = kubernetesResources(
    {
      configYaml: await readFile(path, "utf8"),
      schedules: config.schedules,
      repository: config.repository,
      exercises: config.exercises && {
        slackVariables: (config.exercises.notify ?? config.notify).flatMap((target) =>
          "slack_webhook_env" in target ? [target.slack_webhook_env] : [],
        ),
      },
    },
    {
      image: flags.image ?? `lifeboat:${lifeboatVersion}`,
      namespace: flags.namespace,
      secretName: flags.secret ?? "lifeboat",
      serve: !!flags.serve,
    },
  );
  if (flags.check) {
    const files = new Map<string, string>();
    for (const name of await readdir(flags.check).catch((error: unknown) => {
      throw new LifeboatError("BAD_ARGUMENT", `--check ${flags.check}: ${(error as Error).message}`, {
        hint: "Give the folder of the deployed manifests.",
      });
    }))
      if (/\.ya?ml$/.test(name)) files.set(name, await readFile(join(flags.check, name), "utf8"));
    const differences = driftOf(resources, parseManifests(files));
    env.output.result({ checked: resolve(flags.check), differences }, () =>
      differences.length === 0
        ? `the manifests in ${flags.check} match lifeboat.yaml's schedules (${resources.length} resources)`
        : differences
            .map((difference) =>
              difference.kind === "missing"
                ? `${difference.resource}: missing from ${flags.check}`
                : `${difference.resource}: ${difference.fields.map((field) => `${field.path} is ${JSON.stringify(field.deployed)}, lifeboat.yaml says ${JSON.stringify(field.rendered)}`).join("; ")}`,
            )
            .join("\n"),
    );
    if (differences.length) {
      throw new LifeboatError("DEPLOY_DRIFT", `${differences.length} resource(s) differ from lifeboat.yaml`, {
        reported: true,
        details: { resources: differences.map((difference) => difference.resource) },
      });
    }
    return;
  }
  if (flags.kustomize) {
    if (!flags.out) throw new LifeboatError("BAD_ARGUMENT", "--kustomize writes a folder: give --out DIR");
    return writeFiles(env, flags.out, kustomizeFiles(resources), "Kustomize");
  }
  const stream = renderYamlStream(resources);
  if (flags.out) return writeFiles(env, flags.out, new Map([["lifeboat.yaml", stream]]), "Kubernetes");
  process.stdout.write(stream);
}

export async function deploySystemdCommand(
  env: CommandEnv,
  flags: { out?: string; lifeboat?: string; user?: string },
): Promise<void> {
  const { config, path } = await loadSessionConfig(env);
  const units = systemdUnits(config.schedules, {
    lifeboat: flags.lifeboat ?? "/usr/local/bin/lifeboat",
    configPath: resolve(path),
    user: flags.user ?? "lifeboat",
  });
  if (flags.out) return writeFiles(env, flags.out, units, "systemd unit");
  process.stdout.write([...units].map(([name, text]) => `### ${name}\n${text}`).join("\n"));
}

export async function deployGithubActionsCommand(env: CommandEnv, flags: { out?: string }): Promise<void> {
  const { config } = await loadSessionConfig(env);
  const workflow = drillWorkflow(config.schedules, {
    configPath: "lifeboat.yaml",
    passwordEnv: config.repository.password_env ?? "LIFEBOAT_PASSWORD",
    reportsDir: config.reports.dir,
  });
  if (flags.out) {
    await writeFileWhole(flags.out, workflow, { makeParents: true });
    env.output.result({ out: flags.out }, () => `wrote ${flags.out}`);
    return;
  }
  process.stdout.write(workflow);
}
