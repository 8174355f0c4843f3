import { describe, expect, it } from 'vitest';
import { FrameError, chunkInput, decodeBinary, encodeBinary, encodeClientFrame, parseServerFrame } from './frames';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('binary frames', () => {
  it('decodes kind, big-endian u64 offset and payload', () => {
    const raw = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 2, 104, 105]);
    const f = decodeBinary(raw.buffer);
    expect(f.kind).toBe('output');
    expect(f.offset).toBe(258);
    expect(new TextDecoder().decode(f.payload)).toBe('hi');
  });

  it('decodes snapshots and empty payloads', () => {
    const f = decodeBinary(encodeBinary('snapshot', 42, new Uint8Array()));
    expect(f).toMatchObject({ kind: 'snapshot', offset: 42 });
    expect(f.payload.length).toBe(0);
  });

  it('round-trips large offsets', () => {
    const offset = 2 ** 40 + 7;
    expect(decodeBinary(encodeBinary('output', offset, bytes('x'))).offset).toBe(offset);
  });

  it('decodes a frame that is a view into a larger buffer', () => {
    const big = new Uint8Array(20);
    big.set(encodeBinary('output', 5, bytes('abc')), 4);
    const f = decodeBinary(big.subarray(4, 4 + 12));
    expect(f.offset).toBe(5);
    expect(new TextDecoder().decode(f.payload)).toBe('abc');
  });

  it('refuses short frames, unknown kinds and unsafe offsets', () => {
    expect(() => decodeBinary(new Uint8Array(8))).toThrow(FrameError);
    expect(() => decodeBinary(new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/kind 7/);
    expect(() => decodeBinary(new Uint8Array([0, 255, 255, 255, 255, 255, 255, 255, 255]))).toThrow(/range/);
  });
});

describe('text frames', () => {
  it('parses server frames and ignores anything else', () => {
    expect(parseServerFrame('{"type":"error","code":"badFrame","message":"x"}')).toMatchObject({ type: 'error' });
    expect(parseServerFrame('{"type":"nope"}')).toBeNull();
    expect(parseServerFrame('not json')).toBeNull();
    expect(parseServerFrame('null')).toBeNull();
  });

  it('encodes client frames and refuses sizes the server refuses', () => {
    expect(JSON.parse(encodeClientFrame({ type: 'key', key: 'ShiftTab' }))).toEqual({ type: 'key', key: 'ShiftTab' });
    expect(encodeClientFrame({ type: 'resize', cols: 48, rows: 30 })).toContain('"cols":48');
    expect(() => encodeClientFrame({ type: 'resize', cols: 9, rows: 30 })).toThrow(FrameError);
    expect(() => encodeClientFrame({ type: 'resize', cols: 40.5, rows: 30 })).toThrow(FrameError);
    expect(() => encodeClientFrame({ type: 'input', data: 'x'.repeat(70000) })).toThrow(/too large/);
  });

  it('chunks long input without splitting a surrogate pair', () => {
    const text = 'a'.repeat(9) + '😀' + 'b';
    const parts = chunkInput(text, 10);
    expect(parts.join('')).toBe(text);
    expect(parts[0]).toBe('a'.repeat(9));
    expect(chunkInput('')).toEqual([]);
  });
});
