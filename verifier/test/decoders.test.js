// Pure parts of the verifier under node's test runner: base45, CBOR, DER/OIDs, numbers, 和暦.
//   cd verifier && node --test test/

import assert from "node:assert/strict";
import { test } from "node:test";
import { b45decode } from "../src/base45.js";
import { CborFloat, CborTag, decodeCbor, UNDEFINED } from "../src/cbor.js";
import { ecdsaDerToRaw, oid, readTlv } from "../src/der.js";
import { isNodeId, isTownCode, parseNumber, formatNumber } from "../src/numbers.js";
import { warekiDate, jstTime } from "../src/wareki.js";

const bytes = (hexText) => Uint8Array.from(hexText.match(/../g) ?? [], (b) => parseInt(b, 16));
const text = (u8) => new TextDecoder().decode(u8);

test("base45: RFC 9285 examples and refusals", () => {
  assert.equal(text(b45decode("BB8")), "AB");
  assert.equal(text(b45decode("%69 VD92EX0")), "Hello!!");
  assert.equal(text(b45decode("UJCLQE7W581")), "base-45");
  assert.deepEqual(b45decode(""), new Uint8Array());
  assert.throws(() => b45decode("GGW"), /out of range/); // 65535 + 1
  assert.throws(() => b45decode("A"), /dangling/);
  assert.throws(() => b45decode("ab"), /alphabet/);
  assert.throws(() => b45decode(":;"), /alphabet/);
  assert.throws(() => b45decode("Z:"), /final pair/); // 35 + 45*44 > 255
});

test("cbor: integers keep their type; floats are not integers", () => {
  assert.equal(decodeCbor(bytes("00")), 0);
  assert.equal(decodeCbor(bytes("1903e8")), 1000);
  assert.equal(decodeCbor(bytes("3903e7")), -1000);
  assert.equal(decodeCbor(bytes("1b0020000000000000")), 2n ** 53n);
  assert.equal(decodeCbor(bytes("3bffffffffffffffff")), -(2n ** 64n));
  assert.equal(decodeCbor(bytes("c249010000000000000000")), 2n ** 64n); // bignum tag 2
  const one = decodeCbor(bytes("f93c00"));
  assert.ok(one instanceof CborFloat && one.value === 1);
  assert.equal(decodeCbor(bytes("fb3ff199999999999a")).value, 1.1);
  assert.equal(decodeCbor(bytes("f4")), false);
  assert.equal(decodeCbor(bytes("f6")), null);
  assert.equal(decodeCbor(bytes("f7")), UNDEFINED);
});

test("cbor: strings, arrays, maps, tags, indefinite lengths", () => {
  assert.deepEqual(decodeCbor(bytes("4401020304")), bytes("01020304"));
  assert.equal(decodeCbor(bytes("63e6b0b4")), "水");
  assert.deepEqual(decodeCbor(bytes("83010203")), [1, 2, 3]);
  assert.deepEqual(decodeCbor(bytes("9f0102ff")), [1, 2]);
  assert.equal(decodeCbor(bytes("7f657374726561646d696e67ff")), "streaming");
  const map = decodeCbor(bytes("a201616161310a"));
  assert.equal(map.get(1), "a");
  assert.equal(map.get("1"), 10);
  assert.equal(map.has("a"), false);
  const tag = decodeCbor(bytes("d28440a0404100"));
  assert.ok(tag instanceof CborTag && tag.tag === 18 && tag.value.length === 4);
  assert.ok(tag.value[1] instanceof Map);
});

test("cbor: malformed input throws", () => {
  for (const bad of ["", "18", "1c", "5f01ff", "62e6b0", "ff", "8201", "0000", "a1", "f818", "7f6161ff0000"]) {
    assert.throws(() => decodeCbor(bytes(bad)), Error, bad);
  }
  assert.throws(() => decodeCbor(bytes("62c328")), /UTF-8/); // invalid UTF-8
  assert.throws(() => decodeCbor(bytes("9b00000000ffffffff")), /longer than the input/);
  const deep = bytes("81".repeat(100) + "00");
  assert.throws(() => decodeCbor(deep), /deeply/);
});

test("der: lengths must be minimal and inside their container", () => {
  assert.deepEqual(readTlv(bytes("0403010203"), 0), { tag: 4, at: 0, start: 2, end: 5, next: 5 });
  assert.equal(readTlv(bytes("04820100" + "00".repeat(256)), 0).end, 260);
  assert.throws(() => readTlv(bytes("048103010203"), 0), /minimal/);
  assert.throws(() => readTlv(bytes("040501"), 0), /past/);
  assert.throws(() => readTlv(bytes("0480"), 0), /length/);
});

test("der: OIDs, including the 128-bit UUID arc of the delegation extension", () => {
  const ecdsa = bytes("06082a8648ce3d040302");
  assert.equal(oid(ecdsa, readTlv(ecdsa, 0)), "1.2.840.10045.4.3.2");
  // 2.25.31122992788610468450511199230181575966.1 (base-128 groups of the arc, as DER writes it)
  const uuid = bytes("061469aeea898187b0b294dfb8e0e5b4ccc5d49a1e01");
  assert.equal(oid(uuid, readTlv(uuid, 0)), "2.25.31122992788610468450511199230181575966.1");
  const bad = bytes("06022a86");
  assert.throws(() => oid(bad, readTlv(bad, 0)), /OBJECT IDENTIFIER/);
});

test("der: ECDSA signature to raw r‖s", () => {
  const s = "01";
  const raw = ecdsaDerToRaw(bytes(`3026022100${"ff".repeat(32)}020101`));
  assert.equal(raw.length, 64);
  assert.deepEqual(raw.subarray(0, 32), bytes("ff".repeat(32)));
  assert.deepEqual(raw.subarray(32), bytes("00".repeat(31) + s));
  assert.throws(() => ecdsaDerToRaw(bytes(`3026022100${"ff".repeat(32)}02010100`)), /trailing/);
});

test("numbers: town code check digit, node ids, canonical 整理番号", () => {
  assert.ok(isTownCode("434434") && isTownCode("172049") && isTownCode("032107"));
  assert.ok(!isTownCode("434435") && !isTownCode("43443") && !isTownCode("４３４４３４"));
  assert.ok(isNodeId("wajima-1") && !isNodeId("Wajima") && !isNodeId("a--b") && !isNodeId("-a") && !isNodeId("a".repeat(64)));
  const n = parseNumber("434434-wajima-1-000042");
  assert.deepEqual(n, { townCode: "434434", nodeId: "wajima-1", sequence: 42 });
  assert.equal(formatNumber(n), "434434-wajima-1-000042");
  assert.equal(formatNumber(parseNumber("434434-a-1234567")), "434434-a-1234567");
  for (const bad of ["434434-wajima-1-42", "434434-wajima-1-0000042", "434435-wajima-1-000042", "434434--000042", "434434-wajima-1-000000"]) {
    assert.throws(() => parseNumber(bad), Error, bad);
  }
});

test("wareki: era boundaries and JST", () => {
  assert.equal(warekiDate("2024-01-10"), "令和6年1月10日（2024-01-10）");
  assert.equal(warekiDate("2019-05-01"), "令和元年5月1日（2019-05-01）");
  assert.equal(warekiDate("2019-04-30"), "平成31年4月30日（2019-04-30）");
  assert.equal(warekiDate("1989-01-08"), "平成元年1月8日（1989-01-08）");
  assert.equal(warekiDate("1989-01-07"), "昭和64年1月7日（1989-01-07）");
  assert.equal(jstTime(Date.UTC(2024, 0, 10, 15, 30) / 1000), "2024-01-11 00:30 JST");
});
