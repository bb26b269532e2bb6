// The built-in text of the four scenario kinds of seed 002's rotation: what
// has happened, what the facilitator announces when (injects), what to
// measure, and the Lifeboat commands each service follows. A service may have
// several applicable variants of a scenario (a PostgreSQL source with WAL
// archiving can replay to a moment, a SQLite one can restore single tables);
// exercise-plan.ts picks one deterministically.

import type { InjectConfig, ScenarioKind } from "../config/exercise-schema.ts";

/** What the planner knows of a service, from lifeboat.yaml and the engine's declared capabilities. */
export interface ExerciseService {
  readonly source: string;
  readonly engine: string;
  /** The group it takes part with (exercises.groups), else null. */
  readonly group: string | null;
  readonly rto: string | null;
  readonly rpo: string | null;
  /** Base backups plus archived WAL: restores to any moment (restore --target-time). */
  readonly pointInTime: boolean;
  /** The engine's kinds of partial restore (tables, paths). */
  readonly partialRestore: readonly string[];
}

export interface ScenarioVariant {
  /** Stable name, shown in the briefing and the JSON. */
  readonly name: string;
  readonly steps: readonly string[];
}

export interface BuiltInScenario {
  readonly title: string;
  readonly description: string;
  readonly injects: readonly InjectConfig[];
  readonly measure: readonly string[];
  /** Every variant that applies to the service, in a fixed order; never empty. */
  readonly variants: (service: ExerciseService) => readonly ScenarioVariant[];
}

const evidence = (service: ExerciseService) => [
  `lifeboat drill ${service.source} --operator <OPERATOR> --reviewer <REVIEWER>   # the measured proof, kept in the repository`,
  "lifeboat postmortem <DRILL_ID> --output postmortem.md   # the drill's id is in its record and in `lifeboat drills`",
];

const measureObjectives = [
  "Achieved RTO of each service: from the first inject (T+0) until the restored service is verified, against its declared RTO.",
  "Achieved RPO of each service: the age of the data restored (the snapshot's consistent time or the recovery target) against its declared RPO.",
];

export const builtInScenarios: Record<ScenarioKind, BuiltInScenario> = {
  "primary-failover": {
    title: "Primary failover",
    description:
      "The primary server of each service is lost: its host is gone and takes its disks with it. Service comes back on a replacement restored from the repository.",
    injects: [
      { at: "0m", say: "Monitoring pages on-call: the primary does not answer; health checks fail." },
      { at: "5m", say: "The host is confirmed lost, disks included. There is no replica to promote." },
      { at: "20m", say: "The incident lead asks for an ETA and how much data is lost." },
      { at: "45m", say: "The application team asks whether the replacement can take writes." },
    ],
    measure: [
      ...measureObjectives,
      "Time to decide which snapshot (or recovery target) to restore.",
      "Whether the application reconnects to the replacement without manual fixes.",
    ],
    variants: (service) => [
      {
        name: "restore the newest snapshot",
        steps: [
          `lifeboat status ${service.source}   # the newest backup and its age against the RPO`,
          `lifeboat restore ${service.source} --to <REPLACEMENT> --dry-run`,
          `lifeboat restore ${service.source} --to <REPLACEMENT>`,
          ...evidence(service),
        ],
      },
      ...(service.pointInTime
        ? [
            {
              name: "replay the archived WAL to the end",
              steps: [
                `lifeboat status ${service.source}   # the newest archived WAL and its age`,
                `lifeboat restore ${service.source} --latest --to <NEW_DATA_DIRECTORY> --start`,
                ...evidence(service),
              ],
            },
          ]
        : []),
    ],
  },
  "regional-outage": {
    title: "Regional outage",
    description:
      "The whole primary site is unavailable, including the repository kept there. Service comes back in the secondary region from the copy of the repository kept there (`lifeboat copy`).",
    injects: [
      { at: "0m", say: "The cloud provider reports the primary region unavailable, with no estimate." },
      { at: "10m", say: "The primary repository cannot be reached either: use the secondary region's copy." },
      { at: "30m", say: "DNS for the application must move; who changes it, and when?" },
      { at: "60m", say: "The primary region is back. Do you fail back now or later?" },
    ],
    measure: [
      ...measureObjectives,
      "How old the secondary copy's newest snapshot is (the RPO the copy schedule really gives).",
      "Whether the secondary region's lifeboat.yaml and credentials were at hand.",
    ],
    variants: (service) => [
      service.group !== null
        ? {
            name: "restore the group together in the secondary region",
            steps: [
              "lifeboat -c <SECONDARY>.yaml snapshots   # what the copy holds",
              `lifeboat -c <SECONDARY>.yaml restore --group ${service.group} --to ${service.source}=<TARGET_IN_SECONDARY> --dry-run`,
              `lifeboat -c <SECONDARY>.yaml restore --group ${service.group} --to ${service.source}=<TARGET_IN_SECONDARY>   # one --to per member`,
              ...evidence(service),
            ],
          }
        : {
            name: "restore from the secondary copy",
            steps: [
              `lifeboat -c <SECONDARY>.yaml snapshots ${service.source}   # what the copy holds`,
              `lifeboat -c <SECONDARY>.yaml restore ${service.source} --to <TARGET_IN_SECONDARY> --dry-run`,
              `lifeboat -c <SECONDARY>.yaml restore ${service.source} --to <TARGET_IN_SECONDARY>`,
              ...evidence(service),
            ],
          },
    ],
  },
  "data-corruption": {
    title: "Data corruption",
    description:
      "A faulty deployment has been writing bad data (a dropped table, overwritten rows or files) since an unknown moment. Good data comes back from before the damage, restored beside the damaged copy and checked before it replaces anything.",
    injects: [
      { at: "0m", say: "Support reports wrong figures for some customers since this morning." },
      { at: "15m", say: "A migration of yesterday evening is suspected; it touched one table (or folder)." },
      { at: "30m", say: "Writes are still arriving: what do you stop, and what do you keep?" },
      { at: "50m", say: "Product asks which customers' data was affected and until when." },
    ],
    measure: [
      ...measureObjectives,
      "How exactly the moment before the damage was found (snapshot choice or recovery target).",
      "Good writes lost between that moment and the restore, and how they were recovered.",
    ],
    variants: (service) => [
      {
        name: "restore the last good snapshot beside the damaged copy",
        steps: [
          `lifeboat snapshots ${service.source}   # pick the newest snapshot from before the damage`,
          `lifeboat diff <GOOD_SNAPSHOT> latest --source ${service.source}   # what changed since`,
          `lifeboat restore ${service.source} --snapshot <GOOD_SNAPSHOT> --to <SIDE_TARGET>`,
          ...evidence(service),
        ],
      },
      ...(service.partialRestore.includes("tables")
        ? [
            {
              name: "restore only the damaged tables",
              steps: [
                `lifeboat ls <GOOD_SNAPSHOT> --source ${service.source}   # the tables and their row counts`,
                `lifeboat restore ${service.source} --snapshot <GOOD_SNAPSHOT> --table <TABLE> --to <SIDE_TARGET> --dry-run`,
                `lifeboat restore ${service.source} --snapshot <GOOD_SNAPSHOT> --table <TABLE> --to <SIDE_TARGET>`,
                ...evidence(service),
              ],
            },
          ]
        : []),
      ...(service.partialRestore.includes("paths")
        ? [
            {
              name: "restore only the damaged paths",
              steps: [
                `lifeboat ls <GOOD_SNAPSHOT> <PATH> --source ${service.source}`,
                `lifeboat restore ${service.source} --snapshot <GOOD_SNAPSHOT> --include '<PATH>/**' --to <SIDE_TARGET>`,
                ...evidence(service),
              ],
            },
          ]
        : []),
      ...(service.pointInTime
        ? [
            {
              name: "recover to the moment before the damage",
              steps: [
                `lifeboat status ${service.source}   # the archived WAL range that can be reached`,
                `lifeboat restore ${service.source} --target-time '<JUST_BEFORE_THE_DAMAGE>' --to <NEW_DATA_DIRECTORY> --start`,
                ...evidence(service),
              ],
            },
          ]
        : []),
    ],
  },
  "resource-exhaustion": {
    title: "Resource exhaustion",
    description:
      "A service's disk fills up (or its server runs out of memory) and it stops taking writes; the data has grown since it was last restored. Service comes back on a larger replacement, and the restore time at today's size is what counts.",
    injects: [
      { at: "0m", say: "Writes fail with 'no space left on device'; the service is read-only." },
      { at: "10m", say: "The volume cannot be grown in place: a larger replacement is needed." },
      { at: "25m", say: "The restore is slower than the last drill showed. Why?" },
      { at: "40m", say: "Finance asks what the larger replacement costs per month." },
    ],
    measure: [
      ...measureObjectives,
      "The predicted RTO at the source's current size (the drill record shows it) against the objective.",
      "How much the data grew since the last passing drill (`lifeboat stats`).",
    ],
    variants: (service) => [
      {
        name: "restore onto a larger replacement",
        steps: [
          `lifeboat stats ${service.source}   # how large the snapshots are, and how fast they grow`,
          `lifeboat restore ${service.source} --to <LARGER_REPLACEMENT> --dry-run`,
          `lifeboat restore ${service.source} --to <LARGER_REPLACEMENT>`,
          ...evidence(service),
        ],
      },
    ],
  },
};
