// Finding the QR code in pixels. ZXing's QR reader (@zxing/library) first: measured 5-10x
// faster than jsQR on the same images here (docs/verifier.md), which matters for camera
// frames. jsQR last: slower, but it reads whole A4 pages where ZXing's finder-pattern search
// is misled by the printed text. Only ZXing's QR reader, hybrid binarizer and luminance
// source are imported, by their module paths inside the pinned package version, so the
// bundle carries about 25 KB gzipped of ZXing instead of all its barcode formats.

import BinaryBitmap from "@zxing/library/esm/core/BinaryBitmap.js";
import DecodeHintType from "@zxing/library/esm/core/DecodeHintType.js";
import HybridBinarizer from "@zxing/library/esm/core/common/HybridBinarizer.js";
import QRCodeReader from "@zxing/library/esm/core/qrcode/QRCodeReader.js";
import RGBLuminanceSource from "@zxing/library/esm/core/RGBLuminanceSource.js";
import jsQR from "jsqr";

const reader = new QRCodeReader();
const TRY_HARDER = new Map([[DecodeHintType.TRY_HARDER, true]]);
const BIG = 1_500_000; // pixels: a page scan or a phone photo rather than a camera frame

/** The order of attempts for an image of this size: [mode, longest side limit]. */
export function attempts(width, height) {
  if (width * height > BIG) return [["harder", 2000], ["jsqr", 2000], ["fast", 1000]];
  return [["fast", 2000], ["harder", 2000], ["jsqr", 2000], ["fast", 600]];
}

/** The text of the QR code in RGBA pixels (width × height), or null; mode fast | harder | jsqr. */
export function decodeRgba(rgba, width, height, mode = "fast") {
  if (mode === "jsqr") return jsQR(rgba, width, height, { inversionAttempts: "dontInvert" })?.data ?? null;
  const luminance = new Uint8ClampedArray(width * height);
  for (let i = 0, p = 0; i < luminance.length; i++, p += 4) {
    luminance[i] = (rgba[p] * 77 + rgba[p + 1] * 150 + rgba[p + 2] * 29) >> 8;
  }
  try {
    const bitmap = new BinaryBitmap(new HybridBinarizer(new RGBLuminanceSource(luminance, width, height)));
    return reader.decode(bitmap, mode === "harder" ? TRY_HARDER : undefined).getText();
  } catch {
    return null; // not found, or found but unreadable (checksum / format): the next attempt may read it
  } finally {
    reader.reset();
  }
}
