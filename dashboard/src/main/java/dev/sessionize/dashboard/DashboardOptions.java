package dev.sessionize.dashboard;

import dev.sessionize.transforms.options.OptionsParser;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * The dashboard server's options, {@code --name=value} like the job's and read by the same parser
 * ({@link OptionsParser}, Beam's {@code PipelineOptionsFactory}): where Redis is (the same names
 * and types as the pipeline's {@code --redisHost}, {@code --redisPort}, {@code --redisPasswordEnv},
 * {@code --redisTls}), where to serve the page ({@code --port}, {@code --bind}) and where the job's
 * Prometheus metrics are ({@code --metricsUrls}, for the pipeline-health panel). {@link Flags} is
 * the command line; this class is its checked, typed value.
 */
public final class DashboardOptions {
  /** The command line; {@code --help} lists these options. */
  public interface Flags extends PipelineOptions {
    @Description("Redis host to read dash:* from.")
    @Default.String("localhost")
    String getRedisHost();

    void setRedisHost(String value);

    @Description("Redis port.")
    @Default.Integer(6379)
    int getRedisPort();

    void setRedisPort(int value);

    @Description(
        "Name of the environment variable holding the Redis password (never the password"
            + " itself); unset or empty = no password.")
    @Default.String("SESSIONIZE_REDIS_PASSWORD")
    String getRedisPasswordEnv();

    void setRedisPasswordEnv(String value);

    @Description("Connect to Redis over TLS: true or false.")
    @Default.Boolean(false)
    boolean getRedisTls();

    void setRedisTls(boolean value);

    @Description("HTTP port of the page; 0 = any free port.")
    @Default.Integer(8080)
    int getPort();

    void setPort(int value);

    @Description("Address to listen on; 0.0.0.0 serves other machines too (no login!).")
    @Default.String("127.0.0.1")
    String getBind();

    void setBind(String value);

    @Description(
        "Prometheus endpoints of the job's Flink cluster, comma-separated (e.g."
            + " http://tm1:9250/metrics,http://tm2:9250/metrics), for the pipeline-health panel;"
            + " empty = no panel.")
    @Default.String("")
    String getMetricsUrls();

    void setMetricsUrls(String value);
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

  /**
   * Parses {@code --name=value} arguments; throws with every problem found, one line each naming
   * the argument: first those the parser rejects (unknown option, value of the wrong type), then
   * the values out of range.
   */
  public static DashboardOptions parse(String... args) {
    List<String> problems = new ArrayList<>();
    List<String> parsed = new ArrayList<>();
    for (String arg : args) {
      try {
        OptionsParser.parse(new String[] {arg}, Flags.class);
        parsed.add(arg);
      } catch (IllegalArgumentException e) {
        problems.add(OptionsParser.firstLine(e.getMessage()));
      }
    }
    Flags flags = OptionsParser.parse(parsed.toArray(new String[0]), Flags.class);
    String redisHost = flags.getRedisHost();
    if (redisHost.isEmpty() || !HOST.matcher(redisHost).matches()) {
      problems.add("--redisHost=" + redisHost + " is not valid: use a host name or an IP address");
    }
    port(problems, "redisPort", flags.getRedisPort(), 1);
    String passwordEnv = flags.getRedisPasswordEnv();
    if (!ENV_NAME.matcher(passwordEnv).matches()) {
      problems.add(
          "--redisPasswordEnv="
              + passwordEnv
              + " is not valid: use the name of an environment variable, such as"
              + " SESSIONIZE_REDIS_PASSWORD");
    }
    port(problems, "port", flags.getPort(), 0);
    String bind = flags.getBind();
    if (bind.isEmpty() || !HOST.matcher(bind).matches()) {
      problems.add("--bind=" + bind + " is not valid: use an address such as 127.0.0.1 or 0.0.0.0");
    }
    List<URI> metricsUrls = new ArrayList<>();
    for (String url : flags.getMetricsUrls().split(",")) {
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
                + flags.getMetricsUrls()
                + " is not valid: use http URLs separated by commas, such as"
                + " http://localhost:9250/metrics");
        break;
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidOptionsException(problems);
    }
    return new DashboardOptions(
        redisHost,
        flags.getRedisPort(),
        passwordEnv,
        flags.getRedisTls(),
        flags.getPort(),
        bind,
        metricsUrls);
  }

  private static void port(List<String> problems, String name, int value, int min) {
    if (value < min || value > 65_535) {
      problems.add(
          "--" + name + "=" + value + " is out of range: allowed values are " + min + " to 65535");
    }
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
