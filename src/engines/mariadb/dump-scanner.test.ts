// The dump scanner on hand-made dump text with every trap it must not fall
// into, cut into chunks of every size: the counts never change.

import { test } from "node:test";
import assert from "node:assert/strict";
import { DumpScanner } from "./dump-scanner.ts";

const dump = [
  "/*M!999999\\- enable the sandbox mode */ ",
  "-- MariaDB dump 10.19 -- don't count 'this'",
  "/*!40101 SET NAMES utf8mb4 */;",
  "CREATE TABLE `t``x` (`a` text COMMENT 'multi\\nINSERT INTO `t` VALUES (1);') ENGINE=InnoDB;",
  "INSERT INTO `t``x` VALUES (1,'it''s (a) \\'test\\' ;),(',0x00FF),(2,NULL,-5),",
  '(3,"dq ) ( \\" ",--1);',
  "INSERT INTO `cols` (`a`,`b`) VALUES (1,2),(3,4);",
  "# a hash comment INSERT INTO `t` VALUES (9);",
  "DELIMITER ;;",
  "CREATE PROCEDURE p() BEGIN",
  "INSERT INTO `t``x` VALUES (10,'x');",
  "END ;;",
  "/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = '*/' */;;",
  "DELIMITER ;",
  "INSERT INTO `empty_values` VALUES ();",
  "-- Dump completed",
  "",
].join("\n");

test("row counts survive every chunk boundary and ignore strings, comments and routine bodies", () => {
  const bytes = Buffer.from(dump);
  for (let size = 1; size <= bytes.length; size += size < 20 ? 1 : 37) {
    const scanner = new DumpScanner({ several: false, contentHashes: true });
    for (let i = 0; i < bytes.length; i += size) scanner.push(bytes.subarray(i, i + size));
    const summary = scanner.finish();
    assert.deepEqual(
      Object.fromEntries(summary.rows),
      { "t`x": 3, cols: 2, empty_values: 1 },
      `chunk size ${size}`,
    );
    assert.ok(scanner.completed);
    assert.match(summary.hashes.get("t`x")!, /^[0-9a-f]{32}$/);
  }
});

test("a dump cut inside a statement is an error, not a smaller count", () => {
  const scanner = new DumpScanner({ several: false, contentHashes: false });
  scanner.push(Buffer.from("INSERT INTO `t` VALUES (1,'abc"));
  assert.throws(() => scanner.finish(), /ends inside/);
});

test("several databases: keys carry the database of the last USE", () => {
  const scanner = new DumpScanner({ several: true, contentHashes: false });
  scanner.push(
    Buffer.from("USE `a`;\nINSERT INTO `t` VALUES (1);\nUSE `b`;\nINSERT INTO `t` VALUES (1),(2);\n"),
  );
  assert.deepEqual(Object.fromEntries(scanner.finish().rows), { "a.t": 1, "b.t": 2 });
});
