// Unit tests of service/static/dates.js (node --test tests/js/); run by
// tests/unit/test_ui_js.py as part of the Python suite.
import assert from "node:assert/strict";
import { test } from "node:test";

import { dateLabel, formatJst, jstParts, todayJst, wareki } from "../../service/static/dates.js";

test("today is the day in Japan, not the UTC day", () => {
  // 08:30 JST on 2 December is still 1 December in UTC.
  assert.equal(todayJst(new Date("2026-12-01T23:30:00Z")), "2026-12-02");
  assert.equal(todayJst(new Date("2026-12-01T14:59:59Z")), "2026-12-01");
  assert.equal(todayJst(new Date("2026-12-01T15:00:00Z")), "2026-12-02");
});

test("instants are shown in JST with the label", () => {
  assert.equal(formatJst("2026-12-01T08:05:09.123456+00:00"), "2026-12-01 17:05 JST");
  assert.equal(formatJst("2026-12-01T20:00:00Z", { seconds: true }), "2026-12-02 05:00:00 JST");
  assert.equal(formatJst("2026-12-02T05:00:00+09:00"), "2026-12-02 05:00 JST");
  assert.deepEqual(jstParts("2024-01-01T07:10:00Z"), { year: 2024, month: 1, day: 1, hour: 16, minute: 10, second: 0 });
  assert.equal(formatJst("not a date"), "not a date");
});

test("和暦 by era, with 元年 and the era boundaries", () => {
  assert.equal(wareki("2026-12-01"), "令和8年12月1日");
  assert.equal(wareki("2019-05-01"), "令和元年5月1日");
  assert.equal(wareki("2019-04-30"), "平成31年4月30日");
  assert.equal(wareki("1989-01-08"), "平成元年1月8日");
  assert.equal(wareki("1989-01-07"), "昭和64年1月7日");
  assert.equal(wareki("1926-12-25"), "昭和元年12月25日");
  assert.equal(wareki("1926-12-24"), "大正15年12月24日");
  assert.equal(wareki("1912-07-30"), "大正元年7月30日");
  assert.equal(wareki("1912-07-29"), "明治45年7月29日");
  assert.equal(wareki("2024-01-01"), "令和6年1月1日");
  assert.equal(wareki("1870-01-01"), null);
  assert.equal(wareki("2026-13"), null);
});

test("the label puts 和暦 first and 西暦 beside it", () => {
  assert.equal(dateLabel("2024-01-01"), "令和6年1月1日（2024-01-01）");
  assert.equal(dateLabel("1870-01-01"), "1870-01-01");
  assert.equal(dateLabel(null), "—");
});
