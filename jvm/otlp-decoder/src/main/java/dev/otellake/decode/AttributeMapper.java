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
      if (m.containsKey(key)) {
        continue;
      }
      String rendered = AnyValueRenderer.render(kv.getValue());
      if (hashKeys != null && hashKeys.contains(key)) {
        m.put(key, sha256Hex(rendered));
      } else {
        m.put(key, AnyValueRenderer.truncate(rendered, maxValueBytes, stats));
      }
    }
    return m;
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
