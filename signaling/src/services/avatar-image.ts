import sharp from 'sharp';
import { AVATAR_MAX_INPUT_PIXELS, AVATAR_SIZE } from '@deskline/protocol';
import { ClientError } from '../errors.js';

/** What an uploaded picture really is, from its first bytes; the name and Content-Type are not trusted. */
export type SniffedType = 'png' | 'jpeg' | 'webp' | 'gif' | 'unknown';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(data: Uint8Array, bytes: readonly number[], at = 0): boolean {
  return data.length >= at + bytes.length && bytes.every((byte, i) => data[at + i] === byte);
}

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

export function sniffImageType(data: Uint8Array): SniffedType {
  if (startsWith(data, PNG)) return 'png';
  if (startsWith(data, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(data, ascii('RIFF')) && startsWith(data, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(data, ascii('GIF87a')) || startsWith(data, ascii('GIF89a'))) return 'gif';
  return 'unknown';
}

export const WRONG_TYPE_MESSAGE = 'Only PNG, JPEG and WebP pictures can be used.';
const DAMAGED_MESSAGE = 'The picture could not be read; the file may be damaged. Try another one.';

// A server handles an upload now and then: no need for libvips to keep decoded images around.
sharp.cache(false);

/**
 * Turns an uploaded picture into the stored avatar: a square of AVATAR_SIZE pixels cut from its
 * centre, turned upright by its EXIF orientation, as WebP without any metadata (no camera or GPS
 * details leave the upload). Refuses what it cannot use with the status a client should get:
 * 415 for anything but PNG, JPEG and WebP, 413 for more than AVATAR_MAX_INPUT_PIXELS (a small file
 * can unpack into gigabytes), 400 for a damaged file.
 */
export async function makeAvatar(upload: Buffer): Promise<Buffer> {
  if (upload.length === 0) throw new ClientError(400, 'Choose a picture to upload.');
  const type = sniffImageType(upload);
  if (type === 'unknown' || type === 'gif') throw new ClientError(415, WRONG_TYPE_MESSAGE);

  let width: number;
  let height: number;
  try {
    const metadata = await sharp(upload, { limitInputPixels: false }).metadata();
    if (metadata.format !== type) throw new Error(`content says ${type}, decoder says ${metadata.format}`);
    width = metadata.width;
    height = metadata.height;
  } catch {
    throw new ClientError(400, DAMAGED_MESSAGE);
  }
  // Read from the header before anything is decoded.
  if (width * height > AVATAR_MAX_INPUT_PIXELS) {
    throw new ClientError(
      413,
      `The picture is too large (${width} × ${height} pixels); at most ${AVATAR_MAX_INPUT_PIXELS / 1_000_000} megapixels are accepted.`,
    );
  }

  try {
    return await sharp(upload, { limitInputPixels: AVATAR_MAX_INPUT_PIXELS, failOn: 'error', pages: 1 })
      .rotate()
      .resize(AVATAR_SIZE, AVATAR_SIZE, { fit: 'cover', position: 'centre' })
      .webp({ quality: 82 })
      .toBuffer();
  } catch {
    throw new ClientError(400, DAMAGED_MESSAGE);
  }
}
