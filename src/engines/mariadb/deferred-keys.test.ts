import assert from "node:assert/strict";
import { test } from "node:test";
import { alterFor, deferKeys } from "./deferred-keys.ts";

const lines = (text: string) => text.split("\n");

test("plain and unique secondary keys leave the CREATE TABLE, in order, for one ALTER TABLE", () => {
  const { lines: kept, keys } = deferKeys(
    lines(`CREATE TABLE \`orders\` (
  \`id\` bigint(20) NOT NULL,
  \`customer_id\` int(11) NOT NULL,
  \`note\` varchar(20) DEFAULT 'a, b,',
  PRIMARY KEY (\`id\`),
  UNIQUE KEY \`by_note\` (\`note\`,\`id\`),
  KEY \`customer_id\` (\`customer_id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;`),
  );
  assert.deepEqual(
    kept,
    lines(`CREATE TABLE \`orders\` (
  \`id\` bigint(20) NOT NULL,
  \`customer_id\` int(11) NOT NULL,
  \`note\` varchar(20) DEFAULT 'a, b,',
  PRIMARY KEY (\`id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;`),
  );
  assert.deepEqual(keys, ["UNIQUE KEY `by_note` (`note`,`id`)", "KEY `customer_id` (`customer_id`)"]);
  assert.equal(
    alterFor("`orders`", keys),
    "ALTER TABLE `orders` ADD UNIQUE KEY `by_note` (`note`,`id`), ADD KEY `customer_id` (`customer_id`);\n",
  );
});

test("a table with a constraint, or without secondary keys, stays as dumped", () => {
  const linked = lines(`CREATE TABLE \`linked\` (
  \`id\` int(11) NOT NULL,
  \`order_id\` bigint(20) DEFAULT NULL,
  PRIMARY KEY (\`id\`),
  KEY \`order_id\` (\`order_id\`),
  CONSTRAINT \`fk\` FOREIGN KEY (\`order_id\`) REFERENCES \`orders\` (\`id\`)
) ENGINE=InnoDB;`);
  assert.deepEqual(deferKeys(linked), { lines: linked, keys: [] });
  const plain = lines("CREATE TABLE `t` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;");
  assert.deepEqual(deferKeys(plain), { lines: plain, keys: [] });
});
