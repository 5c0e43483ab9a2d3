package dev.otellake.decode;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;

/** Lowercase hex encoding through a lookup table. */
public final class Hex {
  private static final byte[] DIGITS = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);

  private Hex() {}

  /** Lowercase hex of {@code b}; {@code ""} when empty. */
  public static String of(ByteString b) {
    int n = b.size();
    if (n == 0) {
      return "";
    }
    byte[] out = new byte[n << 1];
    for (int i = 0, j = 0; i < n; i++) {
      int v = b.byteAt(i) & 0xff;
      out[j++] = DIGITS[v >>> 4];
      out[j++] = DIGITS[v & 0x0f];
    }
    return new String(out, StandardCharsets.ISO_8859_1);
  }

  /** Lowercase hex of {@code b}; {@code ""} when empty. */
  public static String of(byte[] b) {
    int n = b.length;
    if (n == 0) {
      return "";
    }
    byte[] out = new byte[n << 1];
    for (int i = 0, j = 0; i < n; i++) {
      int v = b[i] & 0xff;
      out[j++] = DIGITS[v >>> 4];
      out[j++] = DIGITS[v & 0x0f];
    }
    return new String(out, StandardCharsets.ISO_8859_1);
  }
}
