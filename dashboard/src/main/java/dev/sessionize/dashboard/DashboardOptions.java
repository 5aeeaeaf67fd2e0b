package dev.sessionize.dashboard;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The dashboard server's options, {@code --name=value} like the job's: where Redis is (the same
 * names as the pipeline's {@code --redisHost}, {@code --redisPort}, {@code --redisPasswordEnv},
 * {@code --redisTls}), where to serve the page ({@code --port}, {@code --bind}) and where the job's
 * Prometheus metrics are ({@code --metricsUrls}, for the pipeline-health panel).
 */
public final class DashboardOptions {
  /** Option names, their defaults and what they are, in the order {@code --help} prints them. */
  static final Map<String, String[]> OPTIONS = new LinkedHashMap<>();

  static {
    OPTIONS.put("redisHost", new String[] {"localhost", "Redis host to read dash:* from"});
    OPTIONS.put("redisPort", new String[] {"6379", "Redis port"});
    OPTIONS.put(
        "redisPasswordEnv",
        new String[] {
          "SESSIONIZE_REDIS_PASSWORD",
          "name of the environment variable holding the Redis password (never the password"
              + " itself); unset or empty = no password"
        });
    OPTIONS.put("redisTls", new String[] {"false", "connect to Redis over TLS: true or false"});
    OPTIONS.put("port", new String[] {"8080", "HTTP port of the page; 0 = any free port"});
    OPTIONS.put(
        "bind",
        new String[] {
          "127.0.0.1", "address to listen on; 0.0.0.0 serves other machines too (no login!)"
        });
    OPTIONS.put(
        "metricsUrls",
        new String[] {
          "",
          "Prometheus endpoints of the job's Flink cluster, comma-separated (e.g."
              + " http://tm1:9250/metrics,http://tm2:9250/metrics), for the pipeline-health panel;"
              + " empty = no panel"
        });
  }

  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._:\\-\\[\\]]+");

  private final String redisHost;
  private final int redisPort;
  private final String redisPasswordEnv;
  private final boolean redisTls;
  private final int port;
  private final String bind;
  private final List<URI> metricsUrls;

  private DashboardOptions(
      String redisHost,
      int redisPort,
      String redisPasswordEnv,
      boolean redisTls,
      int port,
      String bind,
      List<URI> metricsUrls) {
    this.redisHost = redisHost;
    this.redisPort = redisPort;
    this.redisPasswordEnv = redisPasswordEnv;
    this.redisTls = redisTls;
    this.port = port;
    this.bind = bind;
    this.metricsUrls = List.copyOf(metricsUrls);
  }

  /** Every problem of a command line, one line each, naming the option. */
  public static final class InvalidOptionsException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final List<String> problems;

    InvalidOptionsException(List<String> problems) {
      super(String.join("\n", problems));
      this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
      return problems;
    }
  }

  /** The defaults: Redis on localhost:6379, the page on 127.0.0.1:8080. */
  public static DashboardOptions defaults() {
    return parse();
  }

  /** Parses {@code --name=value} arguments; throws with every problem found. */
  public static DashboardOptions parse(String... args) {
    Map<String, String> values = new LinkedHashMap<>();
    OPTIONS.forEach((name, spec) -> values.put(name, spec[0]));
    List<String> problems = new ArrayList<>();
    for (String arg : args) {
      String[] kv = arg.startsWith("--") ? arg.substring(2).split("=", 2) : new String[] {arg};
      if (!arg.startsWith("--") || !OPTIONS.containsKey(kv[0])) {
        problems.add(
            arg + " is not an option: options are --" + String.join(", --", OPTIONS.keySet()));
      } else if (kv.length != 2) {
        problems.add(arg + " has no value: write --" + kv[0] + "=VALUE");
      } else {
        values.put(kv[0], kv[1]);
      }
    }
    String redisHost = values.get("redisHost");
    if (redisHost.isEmpty() || !HOST.matcher(redisHost).matches()) {
      problems.add("--redisHost=" + redisHost + " is not valid: use a host name or an IP address");
    }
    int redisPort = port(problems, "redisPort", values.get("redisPort"), 1);
    String passwordEnv = values.get("redisPasswordEnv");
    if (!ENV_NAME.matcher(passwordEnv).matches()) {
      problems.add(
          "--redisPasswordEnv="
              + passwordEnv
              + " is not valid: use the name of an environment variable, such as"
              + " SESSIONIZE_REDIS_PASSWORD");
    }
    String tls = values.get("redisTls");
    if (!tls.equals("true") && !tls.equals("false")) {
      problems.add("--redisTls=" + tls + " is not valid: allowed values are true and false");
    }
    int port = port(problems, "port", values.get("port"), 0);
    String bind = values.get("bind");
    if (bind.isEmpty() || !HOST.matcher(bind).matches()) {
      problems.add("--bind=" + bind + " is not valid: use an address such as 127.0.0.1 or 0.0.0.0");
    }
    List<URI> metricsUrls = new ArrayList<>();
    for (String url : values.get("metricsUrls").split(",")) {
      if (url.isBlank()) {
        continue;
      }
      try {
        URI uri = new URI(url.trim());
        if (!List.of("http", "https").contains(String.valueOf(uri.getScheme()))
            || uri.getHost() == null) {
          throw new URISyntaxException(url, "not an http URL");
        }
        metricsUrls.add(uri);
      } catch (URISyntaxException e) {
        problems.add(
            "--metricsUrls="
                + values.get("metricsUrls")
                + " is not valid: use http URLs separated by commas, such as"
                + " http://localhost:9250/metrics");
        break;
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidOptionsException(problems);
    }
    return new DashboardOptions(
        redisHost, redisPort, passwordEnv, Boolean.parseBoolean(tls), port, bind, metricsUrls);
  }

  private static int port(List<String> problems, String name, String value, int min) {
    try {
      int port = Integer.parseInt(value);
      if (port >= min && port <= 65_535) {
        return port;
      }
      problems.add(
          "--" + name + "=" + value + " is out of range: allowed values are " + min + " to 65535");
    } catch (NumberFormatException e) {
      problems.add("--" + name + "=" + value + " is not valid: use a port number");
    }
    return -1;
  }

  /** The same options with another HTTP port (the demo falls back to a free one). */
  public DashboardOptions withPort(int newPort) {
    return new DashboardOptions(
        redisHost, redisPort, redisPasswordEnv, redisTls, newPort, bind, metricsUrls);
  }

  /** The same options with another Redis port. */
  public DashboardOptions withRedisPort(int newPort) {
    return new DashboardOptions(
        redisHost, newPort, redisPasswordEnv, redisTls, port, bind, metricsUrls);
  }

  /** The same options with these Prometheus endpoints for the pipeline-health panel. */
  public DashboardOptions withMetricsUrls(List<URI> urls) {
    return new DashboardOptions(redisHost, redisPort, redisPasswordEnv, redisTls, port, bind, urls);
  }

  /** One line per option, for {@code --help}. */
  static String usage() {
    StringBuilder b = new StringBuilder("options (--name=value):\n");
    OPTIONS.forEach(
        (name, spec) ->
            b.append(String.format("  --%-17s %s (default %s)%n", name, spec[1], spec[0])));
    return b.toString();
  }

  public String redisHost() {
    return redisHost;
  }

  public int redisPort() {
    return redisPort;
  }

  public String redisPasswordEnv() {
    return redisPasswordEnv;
  }

  public boolean redisTls() {
    return redisTls;
  }

  public int port() {
    return port;
  }

  public String bind() {
    return bind;
  }

  public List<URI> metricsUrls() {
    return metricsUrls;
  }
}
