// The running Lifeboat's version, recorded in every manifest.
import packageJson from "../package.json" with { type: "json" };

export const lifeboatVersion: string = packageJson.version;
