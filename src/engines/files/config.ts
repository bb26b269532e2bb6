// The `files` source in lifeboat.yaml.

import { z } from "zod";
import { commonSourceFields } from "../../config/source-fields.ts";

export const filesSourceSchema = z.strictObject({
  engine: z.literal("files"),
  path: z.string().min(1).describe("Directory whose tree is backed up."),
  ...commonSourceFields,
});

export type FilesSourceConfig = z.infer<typeof filesSourceSchema>;
