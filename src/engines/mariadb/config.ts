// The `mariadb` source in lifeboat.yaml (MariaDB and MySQL). The URL never
// carries a password: it is read from the environment variable named by
// `password_env`, so lifeboat.yaml can be committed and printed.

import { z } from "zod";
import { commonSourceFields, contentHashesField, duration } from "../../config/source-fields.ts";

/** Longest wait for a metadata lock (the dump's and Lifeboat's own sessions) unless configured. */
export const defaultLockTimeout = "60s";

const mariadbUrl = z
  .string()
  .regex(/^(mariadb|mysql):\/\//, "a mariadb:// or mysql:// URL")
  .refine((url) => !/^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(url), {
    message:
      "the URL carries a password: remove it and name an environment variable holding it in password_env",
  })
  .describe(
    "Server and database: mariadb://user@host:3306/db (or mysql://). Never a password here: use password_env.",
  );

export const mariadbSourceSchema = z.strictObject({
  engine: z.literal("mariadb"),
  url: mariadbUrl,
  databases: z
    .array(z.string().min(1).max(64))
    .min(1)
    .optional()
    .describe(
      "Databases to capture in one consistent dump. Default: the URL's database; with none there, every user database.",
    ),
  password_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
    .optional()
    .describe(
      "Name of the environment variable holding the password (given to the tools in a 0600 file, never argv).",
    ),
  content_hashes: contentHashesField,
  lock_timeout: duration
    .optional()
    .meta({ default: defaultLockTimeout })
    .describe(
      "Longest wait for a lock in Lifeboat's own sessions (lock_wait_timeout, innodb_lock_wait_timeout): schema reads, fingerprints, restores. mariadb-dump itself waits as long as the server's lock_wait_timeout.",
    ),
  ...commonSourceFields,
});

export type MariadbSourceConfig = z.infer<typeof mariadbSourceSchema>;
