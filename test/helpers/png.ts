import { inflateSync } from 'node:zlib';

/** Width, height and the colour of the top-left pixel of an 8-bit RGB(A) PNG: enough to check a render. */
export function pngInfo(png: Buffer): { width: number; height: number; topLeft: [number, number, number] } {
  if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  // Bounded by the buffer: each chunk advances by its length plus 12.
  while (offset + 8 <= png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || (data[9] !== 2 && data[9] !== 6)) throw new Error('not 8-bit RGB(A)');
      channels = data[9] === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += length + 12;
  }
  const raw = inflateSync(Buffer.concat(idat));
  // The first scanline: a filter byte, then pixels. The first pixel of the first row has no left or
  // upper neighbour, so every filter (None, Sub, Up, Average, Paeth) stores its value unchanged.
  const filter = raw[0];
  const px = raw.subarray(1, 1 + channels);
  if (filter > 4) throw new Error(`bad PNG filter ${filter}`);
  // Average adds half the (zero) left and upper neighbours: the stored byte is the value for all five.
  const topLeft: [number, number, number] = [px[0], px[1], px[2]];
  return { width, height, topLeft };
}
