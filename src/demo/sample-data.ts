// The demo's sample sources: a small booking database in SQLite and an
// uploads folder, like the app in seed runbook 001. Deterministic content so
// two demo runs look alike.

import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

export async function createSampleDatabase(path: string): Promise<void> {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      PRAGMA journal_mode = WAL;
      CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE);
      CREATE TABLE bookings (id INTEGER PRIMARY KEY, client_id INTEGER REFERENCES clients(id), starts_at TEXT, notes TEXT);
      CREATE TABLE invoices (id INTEGER PRIMARY KEY, booking_id INTEGER REFERENCES bookings(id), cents INTEGER, pdf BLOB);
      CREATE INDEX bookings_by_client ON bookings(client_id);
      CREATE VIEW open_invoices AS SELECT * FROM invoices WHERE cents > 0;
    `);
    const client = db.prepare("INSERT INTO clients (name, email) VALUES (?, ?)");
    const booking = db.prepare("INSERT INTO bookings (client_id, starts_at, notes) VALUES (?, ?, ?)");
    const invoice = db.prepare("INSERT INTO invoices (booking_id, cents, pdf) VALUES (?, ?, ?)");
    db.exec("BEGIN");
    for (let i = 1; i <= 500; i++) client.run(`Client ${i} — Zoë ${i}`, `client${i}@example.test`);
    for (let i = 1; i <= 5000; i++) {
      booking.run(
        (i % 500) + 1,
        new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
        `booking ${i} ✓`,
      );
      if (i % 2 === 0) invoice.run(i, (i * 37) % 20000, Buffer.alloc(256, i % 251));
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

export async function createSampleUploads(dir: string): Promise<void> {
  await mkdir(join(dir, "avatars"), { recursive: true });
  await mkdir(join(dir, "invoices", "2026"), { recursive: true });
  await mkdir(join(dir, "empty-folder"), { recursive: true });
  for (let i = 1; i <= 20; i++) {
    const bytes = Buffer.alloc(4096 + i * 100);
    for (let j = 0; j < bytes.length; j++) bytes[j] = (i * 31 + j * 7) % 256;
    await writeFile(join(dir, "avatars", `client-${i}.png`), bytes);
  }
  for (let i = 1; i <= 12; i++) {
    await writeFile(
      join(dir, "invoices", "2026", `facture-${i}-été.txt`),
      `Invoice ${i}\nTotal: ${i * 125} EUR\n`,
    );
  }
  await writeFile(join(dir, "README.txt"), "Files uploaded by users of the demo booking app.\n", {
    mode: 0o640,
  });
  await symlink("avatars/client-1.png", join(dir, "latest-avatar.png"));
}
