// A small QR code encoder (ISO/IEC 18004): byte mode, error correction
// level M, versions 1–10 (up to 213 bytes), the mask with the lowest
// penalty. Enough for otpauth:// links, so a phone can scan the one-time
// code secret instead of typing it. Drawn as one SVG path.
import { svg } from './dom.js';

// RS block layout for level M: [blocks, total codewords, data codewords]...
const BLOCKS_M = [
  [1, 26, 16], [1, 44, 28], [1, 70, 44], [2, 50, 32], [2, 67, 43],
  [4, 43, 27], [4, 49, 31], [2, 60, 38, 2, 61, 39], [3, 58, 36, 2, 59, 37], [4, 69, 43, 1, 70, 44],
];
const ALIGN = [[], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]];

// Galois field GF(256) with the QR polynomial x^8+x^4+x^3+x^2+1.
const EXP = new Array(512);
const LOG = new Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = x;
  LOG[x] = i;
  x <<= 1;
  if (x & 0x100) x ^= 0x11d;
}
for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
const mul = (a, b) => (a && b ? EXP[LOG[a] + LOG[b]] : 0);

function generator(degree) {
  let p = [1];
  for (let i = 0; i < degree; i++) {
    const out = new Array(p.length + 1).fill(0);
    for (let j = 0; j < p.length; j++) { out[j] ^= p[j]; out[j + 1] ^= mul(p[j], EXP[i]); }
    p = out;
  }
  return p;
}

// rsRemainder returns the degree error-correction codewords of data.
export function rsRemainder(data, degree) {
  const gen = generator(degree);
  const res = new Array(degree).fill(0);
  for (const b of data) {
    const f = b ^ res.shift();
    res.push(0);
    for (let i = 0; i < degree; i++) res[i] ^= mul(gen[i + 1], f);
  }
  return res;
}

function blocksOf(version) {
  const t = BLOCKS_M[version - 1];
  const out = [];
  for (let i = 0; i < t.length; i += 3) for (let n = 0; n < t[i]; n++) out.push({ total: t[i + 1], data: t[i + 2] });
  return out;
}

// codewords builds the interleaved data and error-correction codewords.
function codewords(bytes, version) {
  const blocks = blocksOf(version);
  const capacity = blocks.reduce((a, b) => a + b.data, 0);
  const bits = [];
  const put = (v, n) => { for (let i = n - 1; i >= 0; i--) bits.push((v >>> i) & 1); };
  put(4, 4);
  put(bytes.length, version < 10 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  for (let i = 0; i < 4 && bits.length < capacity * 8; i++) bits.push(0);
  while (bits.length % 8) bits.push(0);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  for (let pad = 0xec; data.length < capacity; pad ^= 0xec ^ 0x11) data.push(pad);
  const dc = [];
  const ec = [];
  let off = 0;
  for (const b of blocks) {
    const d = data.slice(off, off + b.data);
    off += b.data;
    dc.push(d);
    ec.push(rsRemainder(d, b.total - b.data));
  }
  const out = [];
  for (const part of [dc, ec]) {
    const max = Math.max(...part.map((x) => x.length));
    for (let i = 0; i < max; i++) for (const x of part) if (i < x.length) out.push(x[i]);
  }
  return out;
}

const MASKS = [
  (i, j) => (i + j) % 2 === 0, (i) => i % 2 === 0, (i, j) => j % 3 === 0, (i, j) => (i + j) % 3 === 0,
  (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0, (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
  (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0, (i, j) => (((i * j) % 3) + ((i + j) % 2)) % 2 === 0,
];

function bch(data, gen, shift) {
  const deg = (x) => 31 - Math.clz32(x);
  let d = data << shift;
  while (d && deg(d) >= deg(gen)) d ^= gen << (deg(d) - deg(gen));
  return (data << shift) | d;
}

// build lays out the symbol for one mask: true is dark.
function build(version, cw, mask) {
  const n = version * 4 + 17;
  const m = Array.from({ length: n }, () => new Array(n).fill(null));
  const finder = (row, col) => {
    for (let r = -1; r <= 7; r++) for (let c = -1; c <= 7; c++) {
      if (row + r < 0 || row + r >= n || col + c < 0 || col + c >= n) continue;
      m[row + r][col + c] = (r >= 0 && r <= 6 && (c === 0 || c === 6)) || (c >= 0 && c <= 6 && (r === 0 || r === 6)) || (r >= 2 && r <= 4 && c >= 2 && c <= 4);
    }
  };
  finder(0, 0);
  finder(n - 7, 0);
  finder(0, n - 7);
  const pos = ALIGN[version - 1];
  for (const r of pos) for (const c of pos) {
    if (m[r][c] !== null) continue;
    for (let dr = -2; dr <= 2; dr++) for (let dc = -2; dc <= 2; dc++) m[r + dr][c + dc] = Math.max(Math.abs(dr), Math.abs(dc)) !== 1;
  }
  for (let i = 8; i < n - 8; i++) {
    if (m[i][6] === null) m[i][6] = i % 2 === 0;
    if (m[6][i] === null) m[6][i] = i % 2 === 0;
  }
  // Format: level M (00) and the mask, BCH(15,5), XOR 0x5412.
  const fmt = bch(mask, 0x537, 10) ^ 0x5412;
  for (let i = 0; i < 15; i++) {
    const v = ((fmt >> i) & 1) === 1;
    if (i < 6) m[i][8] = v; else if (i < 8) m[i + 1][8] = v; else m[n - 15 + i][8] = v;
    if (i < 8) m[8][n - i - 1] = v; else if (i < 9) m[8][15 - i] = v; else m[8][14 - i] = v;
  }
  m[n - 8][8] = true;
  if (version >= 7) {
    const ver = bch(version, 0x1f25, 12);
    for (let i = 0; i < 18; i++) {
      const v = ((ver >> i) & 1) === 1;
      m[Math.floor(i / 3)][(i % 3) + n - 11] = v;
      m[(i % 3) + n - 11][Math.floor(i / 3)] = v;
    }
  }
  const fn = MASKS[mask];
  let byte = 0;
  let bit = 7;
  let up = true;
  for (let col = n - 1; col > 0; col -= 2) {
    if (col === 6) col--;
    for (let k = 0; k < n; k++) {
      const row = up ? n - 1 - k : k;
      for (let c = 0; c < 2; c++) {
        if (m[row][col - c] !== null) continue;
        let dark = byte < cw.length && ((cw[byte] >>> bit) & 1) === 1;
        if (fn(row, col - c)) dark = !dark;
        m[row][col - c] = dark;
        if (--bit < 0) { byte++; bit = 7; }
      }
    }
    up = !up;
  }
  return m;
}

// penalty scores a symbol by the four rules of the standard.
export function penalty(m) {
  const n = m.length;
  let p = 0;
  const line = (get) => {
    for (let i = 0; i < n; i++) {
      let run = 1;
      for (let j = 1; j <= n; j++) {
        if (j < n && get(i, j) === get(i, j - 1)) { run++; continue; }
        if (run >= 5) p += run - 2;
        run = 1;
      }
      for (let j = 0; j + 10 < n; j++) {
        const s = Array.from({ length: 11 }, (_, k) => (get(i, j + k) ? 1 : 0)).join('');
        if (s === '10111010000' || s === '00001011101') p += 40;
      }
    }
  };
  line((i, j) => m[i][j]);
  line((i, j) => m[j][i]);
  let dark = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (m[i][j]) dark++;
    if (i + 1 < n && j + 1 < n && m[i][j] === m[i + 1][j] && m[i][j] === m[i][j + 1] && m[i][j] === m[i + 1][j + 1]) p += 3;
  }
  p += Math.floor(Math.abs((dark * 100) / (n * n) - 50) / 5) * 10;
  return p;
}

// encode returns the module matrix (rows of booleans, true = dark) of
// text, or throws when it does not fit version 10. mask forces a mask
// (tests); by default the lowest penalty wins.
export function encode(text, mask) {
  const bytes = [...new TextEncoder().encode(text)];
  let version = 1;
  for (; version <= 10; version++) {
    const cap = blocksOf(version).reduce((a, b) => a + b.data, 0);
    if (4 + (version < 10 ? 8 : 16) + bytes.length * 8 <= cap * 8) break;
  }
  if (version > 10) throw new Error(`qr: ${bytes.length} bytes do not fit`);
  const cw = codewords(bytes, version);
  if (mask !== undefined) return build(version, cw, mask);
  let best = null;
  let bestP = Infinity;
  for (let k = 0; k < 8; k++) {
    const m = build(version, cw, k);
    const p = penalty(m);
    if (p < bestP) { best = m; bestP = p; }
  }
  return best;
}

// qrSVG draws text as a QR code with a 4-module quiet zone.
export function qrSVG(text, { scale = 4, label = 'QR code' } = {}) {
  const m = encode(text);
  const n = m.length + 8;
  let d = '';
  m.forEach((row, i) => row.forEach((dark, j) => { if (dark) d += `M${j + 4} ${i + 4}h1v1h-1z`; }));
  return svg('svg', { class: 'qr', width: n * scale, height: n * scale, viewBox: `0 0 ${n} ${n}`, role: 'img', 'aria-label': label, 'shape-rendering': 'crispEdges' },
    svg('rect', { width: n, height: n, fill: '#fff' }), svg('path', { d, fill: '#000' }));
}
