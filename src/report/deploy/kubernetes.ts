// `lifeboat deploy kubernetes`: the schedules of lifeboat.yaml as Kubernetes
// resources. Kubernetes is the distributed scheduler teams already run, so
// Lifeboat renders for it instead of building its own: one CronJob per
// schedule (named lifeboat-<schedule>, so `kubectl create job
// --from=cronjob/lifeboat-<schedule>` runs one by hand), the ConfigMap with
// lifeboat.yaml, a ServiceAccount, references to the Secret holding the
// repository password and S3 credentials (never their values), and
// optionally `lifeboat serve` as a Deployment with a Service and a
// ServiceMonitor.

import { basename, dirname } from "node:path";
import { stringify } from "yaml";
import { commandOf, type ScheduleSpec } from "../../plan/schedule.ts";
import { parseDuration } from "../../domain/duration.ts";
import { fiveFieldCron } from "./cron-of.ts";

export interface KubernetesOptions {
  readonly image: string;
  readonly namespace?: string | undefined;
  /** The Secret holding the repository password (and S3 credentials, when used). */
  readonly secretName: string;
  /** Also render `lifeboat serve` (Deployment, Service, ServiceMonitor). */
  readonly serve: boolean;
}

export interface KubernetesInput {
  readonly configYaml: string;
  /** lifeboat.yaml has `exercises:`: a quarterly `exercise plan --notify`, with the Slack variables its targets name. */
  readonly exercises?: { readonly slackVariables: readonly string[] } | undefined;
  readonly schedules: Readonly<Record<string, ScheduleSpec>>;
  readonly repository: {
    readonly url: string;
    readonly password_env?: string | undefined;
    readonly password_file?: string | undefined;
  };
}

export type Resource = Record<string, unknown> & {
  kind: string;
  metadata: { name: string; [key: string]: unknown };
};

const CONFIG_DIR = "/etc/lifeboat";
const labels = { "app.kubernetes.io/name": "lifeboat", "app.kubernetes.io/managed-by": "lifeboat-deploy" };

function secretEnvironment(input: KubernetesInput, options: KubernetesOptions) {
  const env: Record<string, unknown>[] = [];
  const fromSecret = (name: string, optional = false) => ({
    name,
    valueFrom: {
      secretKeyRef: { name: options.secretName, key: name, ...(optional ? { optional: true } : {}) },
    },
  });
  if (input.repository.password_env) env.push(fromSecret(input.repository.password_env));
  if (input.repository.url.startsWith("s3://")) {
    // Optional: a pod with an IAM role (IRSA, workload identity) needs no keys.
    env.push(fromSecret("AWS_ACCESS_KEY_ID", true), fromSecret("AWS_SECRET_ACCESS_KEY", true));
  }
  return env;
}

function podSpec(
  input: KubernetesInput,
  options: KubernetesOptions,
  args: readonly string[],
  restartPolicy: string,
) {
  const passwordFile = input.repository.password_file;
  const volumes: Record<string, unknown>[] = [{ name: "config", configMap: { name: "lifeboat-config" } }];
  const mounts: Record<string, unknown>[] = [{ name: "config", mountPath: CONFIG_DIR, readOnly: true }];
  if (passwordFile) {
    volumes.push({
      name: "password",
      secret: {
        secretName: options.secretName,
        items: [{ key: basename(passwordFile), path: basename(passwordFile) }],
        defaultMode: 0o400,
      },
    });
    mounts.push({ name: "password", mountPath: dirname(passwordFile), readOnly: true });
  }
  // Drills start throwaway servers and write scratch data: an emptyDir, not the image's filesystem.
  volumes.push({ name: "scratch", emptyDir: {} });
  mounts.push({ name: "scratch", mountPath: "/var/tmp/lifeboat" });
  return {
    serviceAccountName: "lifeboat",
    restartPolicy,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      fsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [
      {
        name: "lifeboat",
        image: options.image,
        args: ["-c", `${CONFIG_DIR}/lifeboat.yaml`, ...args],
        env: [
          ...secretEnvironment(input, options),
          { name: "LIFEBOAT_TMPDIR", value: "/var/tmp/lifeboat" },
          { name: "LIFEBOAT_CACHE_DIR", value: "/var/tmp/lifeboat/cache" },
        ],
        volumeMounts: mounts,
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        },
      },
    ],
    volumes,
  };
}

function cronJob(
  name: string,
  spec: ScheduleSpec,
  input: KubernetesInput,
  options: KubernetesOptions,
  args: readonly string[] = commandOf(spec),
): Resource {
  const maxRuntime = spec.max_runtime ? Math.ceil(parseDuration(spec.max_runtime)) : undefined;
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name: `lifeboat-${name}`,
      ...namespaced(options),
      labels: { ...labels, "lifeboat.dev/schedule": name },
    },
    spec: {
      schedule: fiveFieldCron(name, spec),
      ...(spec.timezone ? { timeZone: spec.timezone } : {}),
      concurrencyPolicy: "Forbid",
      // catch_up: a run missed by less than an hour (a controller restart) still starts; none piles up.
      startingDeadlineSeconds: spec.catch_up === false ? 60 : 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
      jobTemplate: {
        metadata: { labels: { ...labels, "lifeboat.dev/schedule": name } },
        spec: {
          // A failed backup is recorded and alerted on; retrying it blindly would hide that.
          backoffLimit: 0,
          ...(maxRuntime ? { activeDeadlineSeconds: maxRuntime } : {}),
          template: {
            metadata: { labels: { ...labels, "lifeboat.dev/schedule": name } },
            spec: podSpec(input, options, args, "Never"),
          },
        },
      },
    },
  };
}

/** Nine in the morning (UTC) on the first day of each quarter: the briefing is there when the quarter starts. */
export const EXERCISE_PLAN_CRON = "0 9 1 1,4,7,10 *";

/**
 * `exercise plan --notify` each quarter, when the lifeboat.yaml of the
 * ConfigMap has an `exercises:` block (docs/exercises.md). No --date: the
 * command plans for today, and a container's args run through no shell that
 * could compute one. The Slack variables its targets name come from the
 * Secret (optional, as a target without its variable is skipped with a warning).
 */
function exercisePlanCronJob(input: KubernetesInput, options: KubernetesOptions): Resource | undefined {
  if (!input.exercises) return undefined;
  const slackVariables = input.exercises.slackVariables;
  // The schedule's `run` is not used: the args say what runs.
  const job = cronJob("exercise-plan", { run: "drill", cron: EXERCISE_PLAN_CRON }, input, options, [
    "exercise",
    "plan",
    "--notify",
  ]);
  const pod = (job.spec as { jobTemplate: { spec: { template: { spec: ReturnType<typeof podSpec> } } } })
    .jobTemplate.spec.template.spec;
  pod.containers[0]!.env.push(
    ...slackVariables.map((name) => ({
      name,
      valueFrom: { secretKeyRef: { name: options.secretName, key: name, optional: true } },
    })),
  );
  return job;
}

const namespaced = (options: KubernetesOptions) =>
  options.namespace ? { namespace: options.namespace } : {};

function serveResources(input: KubernetesInput, options: KubernetesOptions): Resource[] {
  const selector = { ...labels, "app.kubernetes.io/component": "serve" };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "lifeboat-serve", ...namespaced(options), labels: selector },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: selector },
          spec: {
            ...podSpec(
              input,
              options,
              ["serve", "--listen", "0.0.0.0:9187", "--token-env", "LIFEBOAT_SERVE_TOKEN"],
              "Always",
            ),
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "lifeboat-serve", ...namespaced(options), labels: selector },
      spec: { selector, ports: [{ name: "http", port: 9187, targetPort: 9187 }] },
    },
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "lifeboat", ...namespaced(options), labels: selector },
      spec: {
        selector: { matchLabels: selector },
        endpoints: [
          {
            port: "http",
            path: "/metrics",
            interval: "60s",
            authorization: {
              type: "Bearer",
              credentials: { name: options.secretName, key: "LIFEBOAT_SERVE_TOKEN" },
            },
          },
        ],
      },
    },
  ];
}

export function kubernetesResources(input: KubernetesInput, options: KubernetesOptions): Resource[] {
  const resources: Resource[] = [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "lifeboat", ...namespaced(options), labels },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "lifeboat-config", ...namespaced(options), labels },
      data: { "lifeboat.yaml": input.configYaml },
    },
    ...Object.entries(input.schedules).map(([name, spec]) => cronJob(name, spec, input, options)),
  ];
  const exercisePlan = exercisePlanCronJob(input, options);
  if (exercisePlan) resources.push(exercisePlan);
  if (options.serve) {
    const serve = serveResources(input, options);
    // The serve pod needs its token from the same Secret.
    const container = (serve[0]!.spec as { template: { spec: { containers: { env: unknown[] }[] } } })
      .template.spec.containers[0]!;
    container.env.push({
      name: "LIFEBOAT_SERVE_TOKEN",
      valueFrom: { secretKeyRef: { name: options.secretName, key: "LIFEBOAT_SERVE_TOKEN" } },
    });
    resources.push(...serve);
  }
  return resources;
}

/** One YAML stream, each resource a document, in a stable order. */
export function renderYamlStream(resources: readonly Resource[]): string {
  return resources.map((resource) => `---\n${stringify(resource, { lineWidth: 0 })}`).join("");
}

/** A Kustomize base: one file per resource plus kustomization.yaml listing them. */
export function kustomizeFiles(resources: readonly Resource[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const resource of resources)
    files.set(
      `${resource.kind.toLowerCase()}-${resource.metadata.name}.yaml`,
      stringify(resource, { lineWidth: 0 }),
    );
  files.set(
    "kustomization.yaml",
    stringify({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: [...files.keys()],
    }),
  );
  return files;
}
