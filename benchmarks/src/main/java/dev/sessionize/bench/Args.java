package dev.sessionize.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code --name=value} arguments; a bare {@code --flag} is {@code flag=true}. */
final class Args {
  private Args() {}

  static Map<String, String> parse(String[] args) {
    Map<String, String> map = new LinkedHashMap<>();
    for (String arg : args) {
      if (!arg.startsWith("--")) {
        throw new IllegalArgumentException("expected --name=value, got " + arg);
      }
      String[] kv = arg.substring(2).split("=", 2);
      map.put(kv[0], kv.length == 2 ? kv[1] : "true");
    }
    return map;
  }
}
