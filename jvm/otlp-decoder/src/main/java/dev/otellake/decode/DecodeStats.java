package dev.otellake.decode;

/** Per-record counters a decoder reports next to its output. Not thread-safe: one per call. */
public final class DecodeStats {
  /** How many rendered values were truncated to the byte limit. */
  public int truncatedValues;
  /**
   * How many strings had invalid UTF-8 repaired (U+FFFD); the record decoder adds those it
   * repaired while parsing. */
  public int repairedUtf8;
}
