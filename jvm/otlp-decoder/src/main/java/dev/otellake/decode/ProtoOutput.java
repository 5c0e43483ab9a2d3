package dev.otellake.decode;

import java.util.Arrays;

/** A growing buffer of protobuf wire format, written front to back (see {@link OtlpJsonTranscoder}). */
final class ProtoOutput {
  private byte[] out;
  private int len;

  ProtoOutput(int capacity) {
    this.out = new byte[capacity];
  }

  byte[] toByteArray() {
    return Arrays.copyOf(out, len);
  }

  private void ensure(int n) {
    if (len + n > out.length) {
      out = Arrays.copyOf(out, Math.max(out.length << 1, len + n));
    }
  }

  void put(byte[] b) {
    put(b, 0, b.length);
  }

  void put(byte[] b, int from, int n) {
    ensure(n);
    System.arraycopy(b, from, out, len, n);
    len += n;
  }

  void putByte(int b) {
    ensure(1);
    out[len++] = (byte) b;
  }

  void putVarint(long v) {
    ensure(10);
    while ((v & ~0x7FL) != 0) {
      out[len++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out[len++] = (byte) v;
  }

  void putFixed32(int v) {
    ensure(4);
    out[len++] = (byte) v;
    out[len++] = (byte) (v >>> 8);
    out[len++] = (byte) (v >>> 16);
    out[len++] = (byte) (v >>> 24);
  }

  void putFixed64(long v) {
    putFixed32((int) v);
    putFixed32((int) (v >>> 32));
  }

  /** Reserves one byte for a length prefix; returns its position for {@link #endLength}. */
  int beginLength() {
    ensure(1);
    return len++;
  }

  /**
   * Writes the length of everything after {@code mark} as its prefix (moving it when the varint
   * needs more than one byte).
   */
  void endLength(int mark) {
    int n = len - mark - 1;
    if (n < 0x80) {
      out[mark] = (byte) n;
      return;
    }
    int extra = varintSize(n) - 1;
    ensure(extra);
    System.arraycopy(out, mark + 1, out, mark + 1 + extra, n);
    int end = len;
    len = mark;
    putVarint(n);
    len = end + extra;
  }

  /** The varint encoding of {@code v}. */
  static byte[] varint(long v) {
    ProtoOutput b = new ProtoOutput(10);
    b.putVarint(v);
    return b.toByteArray();
  }

  private static int varintSize(long v) {
    int n = 1;
    while ((v & ~0x7FL) != 0) {
      v >>>= 7;
      n++;
    }
    return n;
  }
}
