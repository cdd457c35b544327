// Small inputs the tests make themselves: a roster CSV (PRODUCT.md §7) and a valid PNG photo.
import { deflateSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

/** The roster header (PRODUCT.md §7; `core/src/roster_csv.rs`, `ROSTER_HEADER`). */
export const ROSTER_HEADER =
  'grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes';

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄'];
const GIVEN = ['秀英', '建国', '桂兰', '志强', '淑珍', '国华', '玉梅', '德明'];
const TAGS = ['elderly_alone', '', 'disabled', '', 'low_income', ''];

/**
 * A roster of `households` households per grid, one or two residents each; household codes are
 * `<grid>-H<nn>` (e.g. `G03-H01`). Returns `{csv, households: {grid: [codes…]}}`.
 */
export function roster(grids, households = 4) {
  const lines = [ROSTER_HEADER];
  const codes = {};
  let n = 0;
  for (const grid of grids) {
    codes[grid] = [];
    for (let i = 1; i <= households; i++) {
      const code = `${grid}-H${String(i).padStart(2, '0')}`;
      codes[grid].push(code);
      const floor = Math.ceil(i / 2);
      const room = `${floor}0${((i - 1) % 2) + 1}`;
      const residents = i % 2 ? 1 : 2;
      for (let r = 0; r < residents; r++, n++) {
        const name = SURNAMES[n % SURNAMES.length] + GIVEN[(n * 3) % GIVEN.length];
        const gender = n % 2 ? 'M' : 'F';
        const born = 1938 + ((n * 7) % 50);
        lines.push([grid, 1, 1, floor, room, code, name, gender, born, '', '', TAGS[n % TAGS.length], ''].join(','));
      }
    }
  }
  return { csv: lines.join('\n') + '\n', households: codes };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid RGB PNG of `width`×`height`: a diagonal gradient in `rgb`, so every photo differs by its colour. */
export function png(width, height, [r, g, b]) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const shade = (x + y) / (width + height);
      raw[row + 1 + x * 3] = Math.round(r * (0.6 + 0.4 * shade));
      raw[row + 2 + x * 3] = Math.round(g * (0.6 + 0.4 * shade));
      raw[row + 3 + x * 3] = Math.round(b * (0.6 + 0.4 * shade));
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Writes a PNG photo to `file`; returns its SHA-256 in hex (the blob's name on the server). */
export async function writePhoto(file, rgb = [200, 120, 40]) {
  const bytes = png(64, 48, rgb);
  await writeFile(file, bytes);
  return createHash('sha256').update(bytes).digest('hex');
}
