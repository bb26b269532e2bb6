// Parsing `s3://bucket/optional/prefix`. Parsed by hand rather than with URL:
// URL lowercases the host, and S3 bucket names are case-sensitive for the
// (old) buckets that have capitals. Credentials never live in the URL: the
// SDK's own chain (environment, profile, web identity) provides them.

import { LifeboatError } from "../errors.ts";

export interface S3Location {
  readonly bucket: string;
  /** The key prefix of every object, "" or ending in "/" (e.g. "prod/"). */
  readonly root: string;
}

// Bucket names are 3..63 characters; capitals and "_" only in legacy buckets.
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/;

export function parseS3Url(raw: string): S3Location {
  if (!raw.startsWith("s3://")) throw badS3Url(raw, "an S3 repository URL starts with s3://");
  const rest = raw.slice("s3://".length);
  if (/[?#]/.test(rest))
    throw badS3Url(raw, "no query or fragment: endpoint, region and path_style are fields of repository");
  const slash = rest.indexOf("/");
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  if (authority.includes("@")) {
    throw badS3Url(
      raw,
      "credentials never go in lifeboat.yaml; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a web identity token",
    );
  }
  if (!BUCKET.test(authority))
    throw badS3Url(raw, `"${authority}" is not a bucket name (3 to 63 letters, digits, '.', '-')`);
  const path = slash === -1 ? "" : rest.slice(slash + 1).replace(/\/+$/, "");
  if (path === "") return { bucket: authority, root: "" };
  const segments = path.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) {
    throw badS3Url(raw, "the prefix has an empty, '.' or '..' segment");
  }
  return { bucket: authority, root: path + "/" };
}

/** s3://bucket/prefix, plus " at <endpoint>" (without any userinfo) for a compatible server. */
export function printableS3Location(
  location: S3Location & { readonly endpoint?: string | undefined },
): string {
  const where = `s3://${location.bucket}/${location.root}`.replace(/\/+$/, "");
  return location.endpoint ? `${where} at ${location.endpoint.replace(/\/\/[^/@]*@/, "//")}` : where;
}

function badS3Url(url: string, why: string): LifeboatError {
  const shown = url.replace(/\/\/[^/@]*@/, "//***@");
  return new LifeboatError("BAD_CONFIG", `repository.url ${shown}: ${why}`, {
    details: { path: "repository.url" },
  });
}
