package dev.sessionize.pipeline.options;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.ServiceLoader;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.runners.PipelineRunnerRegistrar;

/**
 * The one way the project's commands read their arguments: Beam's {@link PipelineOptionsFactory}
 * ({@code --name=value}, {@code --help} lists the options), with errors that name the argument.
 */
public final class OptionsParser {
  private OptionsParser() {}

  /**
   * Parses {@code args} into {@code type}; an unknown option, an unknown runner or a value of the
   * wrong type throws {@link IllegalArgumentException} whose first line names it. The values
   * themselves are checked by each options interface's {@code validate}.
   */
  public static <T extends PipelineOptions> T parse(String[] args, Class<T> type) {
    PipelineOptionsFactory.register(type);
    for (String arg : args) {
      if (arg.startsWith("--runner=")) {
        String runner = arg.substring("--runner=".length());
        try {
          PipelineOptionsFactory.fromArgs(arg).create();
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "--runner="
                  + runner
                  + " is not available: allowed values are "
                  + String.join(", ", availableRunners())
                  + " (the class name or its simple name)",
              e);
        }
      }
    }
    try {
      return PipelineOptionsFactory.fromArgs(args).withValidation().as(type);
    } catch (IllegalArgumentException e) {
      // Beam's message may not name the option (a bad int says only "Cannot deserialize value of
      // type `int` from String"): find the argument that fails on its own and name it.
      for (String arg : args) {
        try {
          PipelineOptionsFactory.fromArgs(arg).as(type);
        } catch (IllegalArgumentException alone) {
          String message = OptionChecks.firstLine(alone.getMessage());
          throw new IllegalArgumentException(
              message.contains("'" + optionName(arg) + "'")
                  ? message
                  : arg + " is not valid: " + message,
              e);
        }
      }
      throw e;
    }
  }

  /**
   * Parses {@code args} as {@link #parse} does; a bad argument prints one line, {@code <command>:
   * <problem>}, and exits with code 2.
   */
  public static <T extends PipelineOptions> T parseOrExit(
      String command, String[] args, Class<T> type) {
    try {
      return parse(args, type);
    } catch (IllegalArgumentException e) {
      System.err.println(command + ": " + OptionChecks.firstLine(e.getMessage()));
      System.exit(2);
      throw e;
    }
  }

  private static String optionName(String arg) {
    String name = arg.startsWith("--") ? arg.substring(2) : arg;
    int eq = name.indexOf('=');
    return eq < 0 ? name : name.substring(0, eq);
  }

  /** Simple names of the runners on the class path. */
  public static List<String> availableRunners() {
    List<String> names = new ArrayList<>();
    for (PipelineRunnerRegistrar registrar :
        ServiceLoader.load(PipelineRunnerRegistrar.class, OptionsParser.class.getClassLoader())) {
      for (Class<?> runner : registrar.getPipelineRunners()) {
        names.add(runner.getSimpleName());
      }
    }
    Collections.sort(names);
    return names;
  }
}
