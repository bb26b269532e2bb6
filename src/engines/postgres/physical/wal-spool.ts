// The hand-over of WAL from Lifeboat to a server it recovers. Lifeboat
// fetches the planned WAL files ahead of replay into a spool directory (in
// parallel, a bounded window ahead: operations/wal-feed.ts), and the
// server's restore_command is a small shell script that waits for the file
// it asks for and copies it into place. The script needs no repository
// password and no Node start per segment, so replay never waits on more than
// the fetch itself.
//
//   <spool>/expected      every file name the feed will deliver, one per line
//   <spool>/files/<name>  delivered files (written as .tmp, then renamed)
//   <spool>/asked/<name>  the file the server is waiting for (removed once copied)
//   <spool>/failed        the feed's error; the script then aborts recovery

import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const SPOOL_EXPECTED = "expected";
export const SPOOL_FILES = "files";
export const SPOOL_ASKED = "asked";
export const SPOOL_FAILED = "failed";

// Exit 1 tells PostgreSQL "not archived": the end of the WAL, so a name the
// feed will never deliver returns 1 at once. A failed feed exits 126, which
// PostgreSQL treats as a failure of the command itself and aborts recovery,
// instead of taking it for the end of the WAL and promoting early.
const SCRIPT = `#!/bin/sh
# restore_command of a server Lifeboat recovers (see wal-spool.ts).
d=$(dirname "$0")
grep -qxF "$1" "$d/${SPOOL_EXPECTED}" || exit 1
: > "$d/${SPOOL_ASKED}/$1"
while [ ! -e "$d/${SPOOL_FILES}/$1" ]; do
  if [ -e "$d/${SPOOL_FAILED}" ]; then cat "$d/${SPOOL_FAILED}" >&2; exit 126; fi
  sleep 0.01
done
cp "$d/${SPOOL_FILES}/$1" "$2" || exit 1
rm -f "$d/${SPOOL_ASKED}/$1"
`;

/** Make the spool (owned by the server user when given) and return the restore_command that reads it. */
export async function prepareSpool(
  dir: string,
  owner: { readonly uid: number; readonly gid: number } | undefined,
): Promise<string> {
  for (const sub of ["", SPOOL_FILES, SPOOL_ASKED]) {
    const path = join(dir, sub);
    await mkdir(path, { recursive: true, mode: 0o700 });
    if (owner) await chown(path, owner.uid, owner.gid);
  }
  const script = join(dir, "fetch.sh");
  await writeFile(script, SCRIPT, { mode: 0o755 });
  await chmod(script, 0o755);
  return `sh ${script} %f %p`;
}
