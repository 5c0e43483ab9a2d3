package dev.otellake.decode;

import java.io.Serializable;

/**
 * How a decoder is built, the same for every signal: the record encoding and the attribute
 * rules (value budget, keys to drop, keys to hash). Immutable.
 */
public final class DecoderOptions implements Serializable {
  private static final long serialVersionUID = 1L;

  final boolean json;
  final int maxValueBytes;
  private final String[] dropKeys;
  private final String[] hashKeys;

  private DecoderOptions(boolean json, int maxValueBytes, String[] dropKeys, String[] hashKeys) {
    this.json = json;
    this.maxValueBytes = maxValueBytes;
    this.dropKeys = dropKeys.clone();
    this.hashKeys = hashKeys.clone();
  }

  /**
   * @param json whether records are OTLP/JSON ({@code otlp_json}) rather than protobuf: the
   *     decoder then transcodes each record with {@link OtlpJson} first, so the row is the one
   *     the equivalent protobuf record gives, and a record that is not a JSON object with the
   *     request's top-level array fails with {@code json_decode} instead of {@code
   *     proto_decode}
   * @param maxValueBytes UTF-8 byte budget per attribute value (and log body; {@code <= 0}: no
   *     limit)
   * @param dropKeys attribute keys to remove
   * @param hashKeys attribute keys whose values are replaced by their SHA-256 hex
   */
  public static DecoderOptions of(
      boolean json, int maxValueBytes, String[] dropKeys, String[] hashKeys) {
    return new DecoderOptions(json, maxValueBytes, dropKeys, hashKeys);
  }

  /** Protobuf records, no value limit, no key dropped or hashed. */
  public static DecoderOptions proto() {
    return of(false, 0, new String[0], new String[0]);
  }

  AttributeMapper attributes() {
    return new AttributeMapper(maxValueBytes, dropKeys, hashKeys);
  }
}
