// The `nats` source in lifeboat.yaml: a NATS server with JetStream, the
// streams to protect, and how to log in. Secrets never live in the file or
// the URL: the config names the environment variable that holds them.

import { z } from "zod";
import { commonSourceFields } from "../../config/source-fields.ts";

/** A stream name as JetStream accepts it: no whitespace, dots, wildcards or path separators. */
const streamName = z
  .string()
  .regex(/^[^\s.*>/\\]+$/, "a JetStream stream name (no spaces, '.', '*', '>', '/' or '\\')");

const environmentVariable = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the name of an environment variable, e.g. NATS_PASSWORD");

/** nats:// (or tls://) with a host and no user or password in it. */
export const natsUrl = z
  .string()
  .regex(/^(nats|tls):\/\/[^/?#]+$/, "a nats:// URL such as nats://127.0.0.1:4222")
  .refine((url) => !/^[a-z]+:\/\/[^/]*@/i.test(url), {
    message:
      "credentials do not belong in the URL: put the user in `user:` and the password in the variable named by `password_env` (or a token in the one named by `token_env`)",
  })
  .describe("The NATS server, e.g. nats://127.0.0.1:4222. Never with a user, password or token in it.");

export const natsSourceSchema = z
  .strictObject({
    engine: z.literal("nats"),
    url: natsUrl,
    streams: z
      .array(streamName)
      .min(1)
      .optional()
      .describe("The streams to back up (default: every stream of the account)."),
    user: z.string().min(1).optional().describe("User name to log in with; its password is in password_env."),
    password_env: environmentVariable
      .optional()
      .describe("Environment variable holding the password of `user`."),
    token_env: environmentVariable
      .optional()
      .describe("Environment variable holding an authentication token (instead of user/password)."),
    ...commonSourceFields,
  })
  .refine((source) => (source.user === undefined) === (source.password_env === undefined), {
    message: "user and password_env go together",
    path: ["password_env"],
  })
  .refine((source) => source.token_env === undefined || source.user === undefined, {
    message: "use either user/password_env or token_env, not both",
    path: ["token_env"],
  });

export type NatsSourceConfig = z.infer<typeof natsSourceSchema>;
