package dev.otellake.decode;

import io.opentelemetry.proto.common.v1.KeyValue;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns OTLP attribute lists ({@code repeated KeyValue}) into {@code key -> rendered value} maps:
 * values rendered by {@link AnyValueRenderer}; for duplicate keys the last one wins; keys in
 * {@code dropKeys} are removed; keys in {@code hashKeys} get the lowercase hex SHA-256 of the
 * UTF-8 bytes of the full rendered value; every other value is cut to {@code maxValueBytes}.
 */
public final class AttributeMapper implements Serializable {
  private static final long serialVersionUID = 1L;

  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException(e);
            }
          });

  private final int maxValueBytes;
  private final Set<String> dropKeys;
  private final Set<String> hashKeys;

  /**
   * @param maxValueBytes UTF-8 byte budget per value ({@code <= 0}: no limit)
   * @param dropKeys attribute keys to remove (null = none)
   * @param hashKeys attribute keys whose values are replaced by their SHA-256 (null = none)
   */
  public AttributeMapper(int maxValueBytes, String[] dropKeys, String[] hashKeys) {
    this.maxValueBytes = maxValueBytes;
    this.dropKeys = toSet(dropKeys);
    this.hashKeys = toSet(hashKeys);
  }

  private static Set<String> toSet(String[] keys) {
    if (keys == null || keys.length == 0) {
      return null;
    }
    HashSet<String> s = new HashSet<>();
    for (String k : keys) {
      if (k != null) {
        s.add(k);
      }
    }
    return s.isEmpty() ? null : s;
  }

  public int maxValueBytes() {
    return maxValueBytes;
  }

  /** The attribute map of {@code kvs} (never null; an immutable empty map when there is nothing). */
  public Map<String, String> toMap(List<KeyValue> kvs, DecodeStats stats) {
    return toMap(kvs, stats, Collections.emptyMap(), null, null, 0);
  }

  /**
   * As {@link #toMap(List, DecodeStats)}, except that the value of a key in {@code slots} (key ->
   * slot) goes to {@code out[offset + slot]} instead of the map. Drop, hash and truncation apply
   * to it as to a map value, and the last duplicate of a key wins wherever it goes. For a slot
   * with {@code integer[slot]} the value goes there (as an {@link Integer}) only when it is the
   * canonical decimal form of a 32-bit int ({@link #canonicalInt}); otherwise it stays in the map.
   * The slots of {@code out} must be null on entry.
   */
  public Map<String, String> toMap(
      List<KeyValue> kvs,
      DecodeStats stats,
      Map<String, Integer> slots,
      boolean[] integer,
      Object[] out,
      int offset) {
    int n = kvs.size();
    if (n == 0) {
      return Collections.emptyMap();
    }
    HashMap<String, String> m = new HashMap<>(n + (n >>> 1) + 2);
    // Walk backwards so the last duplicate wins and earlier duplicates are never rendered
    // (nor counted as truncated).
    for (int i = n - 1; i >= 0; i--) {
      KeyValue kv = kvs.get(i);
      String key = kv.getKey();
      if (dropKeys != null && dropKeys.contains(key)) {
        continue;
      }
      Integer slot = slots.get(key);
      if (slot == null) {
        if (!m.containsKey(key)) {
          m.put(key, value(key, kv, stats));
        }
        continue;
      }
      int s = slot;
      int at = offset + s;
      if (out[at] != null || m.containsKey(key)) {
        continue; // a later duplicate already went to the column or (not an int) to the map
      }
      String value = value(key, kv, stats);
      if (!integer[s]) {
        out[at] = value;
        continue;
      }
      Integer parsed = canonicalInt(value);
      if (parsed != null) {
        out[at] = parsed;
      } else {
        m.put(key, value);
      }
    }
    return m.isEmpty() ? Collections.emptyMap() : m;
  }

  /** A map value: dropped keys aside, the hash or the truncated rendering of {@code kv}'s value. */
  private String value(String key, KeyValue kv, DecodeStats stats) {
    String rendered = AnyValueRenderer.render(kv.getValue());
    if (hashKeys != null && hashKeys.contains(key)) {
      return sha256Hex(rendered);
    }
    return AnyValueRenderer.truncate(rendered, maxValueBytes, stats);
  }

  /**
   * {@code s} as an int when it is the canonical decimal form of one, i.e. when {@code
   * Integer.toString(Integer.parseInt(s)).equals(s)} (no sign but a leading {@code -}, no leading
   * zeros, no {@code -0}, ASCII digits, in range); null otherwise. Never throws.
   */
  public static Integer canonicalInt(String s) {
    int n = s.length();
    if (n == 0 || n > 11) {
      return null;
    }
    int i = 0;
    boolean negative = s.charAt(0) == '-';
    if (negative) {
      if (n == 1) {
        return null;
      }
      i = 1;
    }
    if (s.charAt(i) == '0') {
      return n == 1 ? Integer.valueOf(0) : null; // "0" only: not "-0", not "05"
    }
    long v = 0;
    for (; i < n; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return null;
      }
      v = v * 10 + (c - '0');
    }
    if (negative) {
      v = -v;
    }
    return v < Integer.MIN_VALUE || v > Integer.MAX_VALUE ? null : Integer.valueOf((int) v);
  }

  /** Cuts one rendered value (e.g. a log body) to the byte budget, counting it in {@code stats}. */
  public String limit(String rendered, DecodeStats stats) {
    return AnyValueRenderer.truncate(rendered, maxValueBytes, stats);
  }

  /** Lowercase hex SHA-256 of the UTF-8 bytes of {@code s}. */
  public static String sha256Hex(String s) {
    MessageDigest md = SHA256.get();
    md.reset();
    return Hex.of(md.digest(s.getBytes(StandardCharsets.UTF_8)));
  }
}
