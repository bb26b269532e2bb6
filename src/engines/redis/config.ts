// The `redis` source in lifeboat.yaml. A Redis source is a whole server:
// the replication stream carries every database, so the URL names the
// server only (a /N database suffix is refused rather than silently ignored).

import { z } from "zod";
import { commonSourceFields } from "../../config/source-fields.ts";

export const redisUrl = z
  .string()
  .regex(/^rediss?:\/\/[^/]+\/?$/, "a redis:// URL of a server, such as redis://127.0.0.1:6379")
  .refine(
    (url) => !/^rediss?:\/\/[^/@]*:[^/@]*@/.test(url),
    "no password in the URL: put it in REDISCLI_AUTH or the variable password_env names",
  )
  .describe(
    "The server, redis://[user@]host:port (rediss:// for TLS). The password goes in the variable named by password_env (default REDISCLI_AUTH, as redis-cli), never in the URL.",
  );

export const redisSourceSchema = z.strictObject({
  engine: z.literal("redis"),
  url: redisUrl,
  password_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
    .optional()
    .describe("Environment variable holding the password (default: REDISCLI_AUTH when it is set)."),
  sync_delay: z
    .enum(["lower", "wait"])
    .default("lower")
    .describe(
      "A diskless primary waits repl-diskless-sync-delay seconds before it starts a snapshot for a new replica. lower: set it to 0 while Lifeboat's transfer starts and put it back afterwards (needs CONFIG). wait: never change the server's configuration and wait.",
    ),
  ...commonSourceFields,
});

export type RedisSourceConfig = z.infer<typeof redisSourceSchema>;
