package dev.sessionize.bench;

import dev.sessionize.transforms.options.OptionsParser;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;

/**
 * The benchmarks' command lines: one options interface per {@code main}, read by the project's
 * {@link OptionsParser} ({@code --help} lists them). Options that Beam's runners on this class path
 * also declare ({@code --parallelism}, {@code --stateBackend}) have the runners' types and
 * defaults, and options two mains declare with different defaults ({@code --work}, {@code --out},
 * {@code --rate}) none (Beam wants one default per name in a JVM): each main applies its own when
 * the option is not given.
 */
final class BenchOptions {
  private BenchOptions() {}

  private static final String FLINK = "--flink.";

  /**
   * Parses {@code args} as {@code command}'s options: a bad argument prints one line naming it and
   * exits with code 2 ({@link OptionsParser#parseOrExit}). The {@code --flink.KEY=VALUE} arguments
   * (Flink configuration entries, not options: see {@link #flinkConf}) are taken out first.
   */
  static <T extends PipelineOptions> T parseOrExit(String command, String[] args, Class<T> type) {
    return OptionsParser.parseOrExit(command, withoutFlinkConf(args), type);
  }

  /** As {@link #parseOrExit}, throwing {@link IllegalArgumentException} instead of exiting. */
  static <T extends PipelineOptions> T parse(String[] args, Class<T> type) {
    return OptionsParser.parse(withoutFlinkConf(args), type);
  }

  private static String[] withoutFlinkConf(String[] args) {
    List<String> rest = new ArrayList<>();
    for (String arg : args) {
      if (!arg.startsWith(FLINK)) {
        rest.add(arg);
      }
    }
    return rest.toArray(new String[0]);
  }

  /**
   * Whether {@code --name} is among {@code args}: for an option Beam declares without a default of
   * ours (a main whose default differs from Beam's applies its own when the option is not given).
   */
  static boolean given(String[] args, String name) {
    for (String arg : args) {
      if (arg.equals("--" + name) || arg.startsWith("--" + name + "=")) {
        return true;
      }
    }
    return false;
  }

  /** The {@code --flink.KEY=VALUE} arguments as Flink configuration entries, in order. */
  static Map<String, String> flinkConf(String[] args) {
    Map<String, String> conf = new LinkedHashMap<>();
    for (String arg : args) {
      if (arg.startsWith(FLINK)) {
        String[] kv = arg.substring(FLINK.length()).split("=", 2);
        conf.put(kv[0], kv.length == 2 ? kv[1] : "true");
      }
    }
    return conf;
  }

  /** What {@link BenchRun} and {@link NativeRun} share: one measured run over input files. */
  interface RunOptions extends PipelineOptions {
    @Description("Input files, a local glob such as DIR/part-*.jsonl.")
    @Validation.Required
    String getInput();

    void setInput(String value);

    @Description("File the run writes what it measured to, as properties.")
    @Validation.Required
    String getResult();

    void setResult(String value);

    @Description("Parallelism; below 1 (as by default) = 1.")
    @Default.Integer(-1)
    Integer getParallelism();

    void setParallelism(Integer value);

    @Description("Checkpoint interval in milliseconds; 0 = no checkpoints.")
    @Default.Long(0)
    long getCheckpointing();

    void setCheckpointing(long value);

    @Description("State backend: heap or rocksdb (default heap).")
    String getStateBackend();

    void setStateBackend(String value);

    @Description("Working folder (checkpoints, Flink configuration); default target/bench-work.")
    String getWork();

    void setWork(String value);
  }

  /** The parallelism, 1 when not given. */
  static int parallelism(RunOptions options) {
    Integer p = options.getParallelism();
    return p == null || p < 1 ? 1 : p;
  }

  /** {@code value}, or {@code fallback} when the option was not given. */
  static <V> V orElse(V value, V fallback) {
    return value == null ? fallback : value;
  }

  /** The state backend, heap when not given. */
  static String stateBackend(RunOptions options) {
    String backend = options.getStateBackend();
    return backend == null || backend.isEmpty() ? "heap" : backend;
  }
}
