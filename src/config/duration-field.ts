// Durations as people write them in runbooks: 90s, 15m, 4h, 7d. Their own
// file so that every schema file can use them without importing another
// schema (source-fields.ts spreads the probe schema, which needs them too).

import { z } from "zod";

export const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
export const duration = z.string().regex(durationPattern, "a duration such as 500ms, 90s, 15m, 4h or 7d");
