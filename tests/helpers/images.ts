/** Pictures for avatar tests, made on the spot (nothing binary is kept in the repository). */
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

export type Rgb = readonly [number, number, number];

/**
 * A picture in three vertical bands of equal width (left, middle, right), raw RGB. A centre crop
 * of a wide one keeps only the middle colour, which shows where a crop was taken.
 */
export function bands(width: number, height: number, colours: readonly [Rgb, Rgb, Rgb]): ReturnType<typeof sharp> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let x = 0; x < width; x += 1) {
    const colour = colours[Math.min(2, Math.floor((x * 3) / width))]!;
    for (let y = 0; y < height; y += 1) pixels.set(colour, (y * width + x) * 3);
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

export const RED: Rgb = [220, 30, 30];
export const GREEN: Rgb = [30, 180, 60];
export const BLUE: Rgb = [30, 60, 220];

/** A wide picture whose middle band is green, in the given format. */
export function widePicture(format: 'png' | 'jpeg' | 'webp' | 'gif', width = 900, height = 300): Promise<Buffer> {
  return bands(width, height, [RED, GREEN, BLUE]).toFormat(format).toBuffer();
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb: a valid PNG header announcing `width` × `height` pixels (1-bit grey),
 * followed by a few compressed rows. A few hundred bytes that would unpack to hundreds of megabytes.
 */
export function pixelBombPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([1, 0, 0, 0, 0], 8);
  const row = Buffer.alloc(1 + Math.ceil(width / 8));
  const rows = deflateSync(Buffer.concat(Array.from({ length: 16 }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', rows),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The RGB colour of one pixel of an encoded picture. */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<Rgb> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}

/** Whether two colours are within `tolerance` on every channel (lossy formats shift them a little). */
export function near(a: Rgb, b: Rgb, tolerance = 40): boolean {
  return a.every((value, i) => Math.abs(value - b[i]!) <= tolerance);
}
