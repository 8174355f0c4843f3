// The session WebSocket's frames (see crds/src/frames.rs): JSON text frames both ways, and
// binary output frames from the server = 1 kind byte + big-endian u64 offset + bytes.
import {
  BINARY_HEADER_LEN,
  BINARY_KIND_OUTPUT,
  BINARY_KIND_SNAPSHOT,
  MAX_CLIENT_FRAME_BYTES,
  TERMINAL_LIMITS,
  type ClientFrame,
  type ServerFrame,
} from '../types/cockpit';

export type BinaryFrame = {
  /** `output`: bytes at `offset`; `snapshot`: a repaint of the screen, live output continues at `offset`. */
  kind: 'output' | 'snapshot';
  offset: number;
  payload: Uint8Array;
};

export class FrameError extends Error {}

/** Decodes a binary frame; throws a FrameError when it is malformed. */
export function decodeBinary(data: ArrayBuffer | Uint8Array): BinaryFrame {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < BINARY_HEADER_LEN) throw new FrameError(`binary frame too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kindByte = view.getUint8(0);
  let kind: BinaryFrame['kind'];
  if (kindByte === BINARY_KIND_OUTPUT) kind = 'output';
  else if (kindByte === BINARY_KIND_SNAPSHOT) kind = 'snapshot';
  else throw new FrameError(`unknown binary frame kind ${kindByte}`);
  const big = view.getBigUint64(1, false);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new FrameError('offset out of range');
  return { kind, offset: Number(big), payload: bytes.subarray(BINARY_HEADER_LEN) };
}

/** Encodes a binary frame (the server's format; used by tests and fakes). */
export function encodeBinary(kind: BinaryFrame['kind'], offset: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(BINARY_HEADER_LEN + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind === 'output' ? BINARY_KIND_OUTPUT : BINARY_KIND_SNAPSHOT);
  view.setBigUint64(1, BigInt(offset), false);
  out.set(payload, BINARY_HEADER_LEN);
  return out;
}

const SERVER_TYPES = new Set(['hello', 'state', 'oneshot', 'error']);

/** Parses a JSON text frame from the server; null when it is not one. */
export function parseServerFrame(text: string): ServerFrame | null {
  try {
    const value = JSON.parse(text) as { type?: unknown };
    if (value && typeof value === 'object' && typeof value.type === 'string' && SERVER_TYPES.has(value.type)) {
      return value as ServerFrame;
    }
  } catch {
    /* not JSON */
  }
  return null;
}

const encoder = new TextEncoder();

/** Encodes a client frame, refusing what the server would refuse. */
export function encodeClientFrame(frame: ClientFrame): string {
  if (frame.type === 'resize') {
    const { minCols, maxCols, minRows, maxRows } = TERMINAL_LIMITS;
    if (
      !Number.isInteger(frame.cols) ||
      !Number.isInteger(frame.rows) ||
      frame.cols < minCols ||
      frame.cols > maxCols ||
      frame.rows < minRows ||
      frame.rows > maxRows
    ) {
      throw new FrameError(`invalid terminal size ${frame.cols}x${frame.rows}`);
    }
  }
  const text = JSON.stringify(frame);
  if (encoder.encode(text).length > MAX_CLIENT_FRAME_BYTES) throw new FrameError('frame too large');
  return text;
}

/** Splits long input into frames the server accepts (never inside a UTF-16 surrogate pair). */
export function chunkInput(text: string, maxChars = 8000): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(text.length, i + maxChars);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
    out.push(text.slice(i, end));
    i = end;
  }
  return out;
}
