import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { test } from "node:test";
import { DeferredKeys } from "./deferred-keys.ts";

const dump = `-- MariaDB dump
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
DROP TABLE IF EXISTS \`orders\`;
CREATE TABLE \`orders\` (
  \`id\` bigint(20) NOT NULL,
  \`customer_id\` int(11) NOT NULL,
  \`note\` varchar(20) DEFAULT 'a, b,',
  PRIMARY KEY (\`id\`),
  UNIQUE KEY \`by_note\` (\`note\`,\`id\`),
  KEY \`customer_id\` (\`customer_id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

LOCK TABLES \`orders\` WRITE;
/*!40000 ALTER TABLE \`orders\` DISABLE KEYS */;
INSERT INTO \`orders\` VALUES
(1,2,'x\\nCREATE TABLE \`no\` ('),
(2,3,'UNLOCK TABLES;');
/*!40000 ALTER TABLE \`orders\` ENABLE KEYS */;
UNLOCK TABLES;
CREATE TABLE \`linked\` (
  \`id\` int(11) NOT NULL,
  \`order_id\` bigint(20) DEFAULT NULL,
  PRIMARY KEY (\`id\`),
  KEY \`order_id\` (\`order_id\`),
  CONSTRAINT \`fk\` FOREIGN KEY (\`order_id\`) REFERENCES \`orders\` (\`id\`)
) ENGINE=InnoDB;
CREATE TABLE \`empty\` (
  \`id\` int(11) NOT NULL,
  KEY \`id\` (\`id\`)
) ENGINE=InnoDB;
-- Dump completed
`;

const expected = `-- MariaDB dump
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
DROP TABLE IF EXISTS \`orders\`;
CREATE TABLE \`orders\` (
  \`id\` bigint(20) NOT NULL,
  \`customer_id\` int(11) NOT NULL,
  \`note\` varchar(20) DEFAULT 'a, b,',
  PRIMARY KEY (\`id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

LOCK TABLES \`orders\` WRITE;
/*!40000 ALTER TABLE \`orders\` DISABLE KEYS */;
INSERT INTO \`orders\` VALUES
(1,2,'x\\nCREATE TABLE \`no\` ('),
(2,3,'UNLOCK TABLES;');
/*!40000 ALTER TABLE \`orders\` ENABLE KEYS */;
UNLOCK TABLES;
ALTER TABLE \`orders\` ADD UNIQUE KEY \`by_note\` (\`note\`,\`id\`), ADD KEY \`customer_id\` (\`customer_id\`);
CREATE TABLE \`linked\` (
  \`id\` int(11) NOT NULL,
  \`order_id\` bigint(20) DEFAULT NULL,
  PRIMARY KEY (\`id\`),
  KEY \`order_id\` (\`order_id\`),
  CONSTRAINT \`fk\` FOREIGN KEY (\`order_id\`) REFERENCES \`orders\` (\`id\`)
) ENGINE=InnoDB;
CREATE TABLE \`empty\` (
  \`id\` int(11) NOT NULL
) ENGINE=InnoDB;
-- Dump completed

ALTER TABLE \`empty\` ADD KEY \`id\` (\`id\`);
`;

function pieces(input: string, size: number): Buffer[] {
  const bytes = Buffer.from(input);
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.subarray(at, at + size));
  return parts;
}

test("secondary keys move after the table's data; tables with constraints stay as dumped; any chunking gives the same", async () => {
  for (const size of [1, 7, 64, 100_000]) {
    const output = await text(Readable.from(pieces(dump, size)).pipe(new DeferredKeys()));
    assert.equal(output, expected, `chunks of ${size} bytes`);
  }
});

test("a dump without secondary keys passes through byte for byte", async () => {
  const plain =
    "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\nINSERT INTO `t` VALUES (1);\n";
  assert.equal(await text(Readable.from(pieces(plain, 5)).pipe(new DeferredKeys())), plain);
});
