package dev.sessionize.transforms.options;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.ServiceLoader;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.runners.PipelineRunnerRegistrar;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The one way the project's commands read their arguments: Beam's {@link PipelineOptionsFactory}
 * ({@code --name=value}, {@code --help} lists the command's options, {@code --help=INTERFACE}
 * another interface's), with errors that name the argument. It lives in {@code transforms} (no I/O,
 * only Beam core) so that every module's {@code main}, the dashboard's included, reaches the same
 * parser.
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
    if (List.of(args).contains("--help")) {
      // Beam's bare --help lists the registered interfaces' names; the command's options it is.
      PipelineOptionsFactory.printHelp(System.out, type);
      System.exit(0);
    }
    for (String arg : args) {
      String name = optionName(arg);
      if (arg.startsWith("--") && !arg.contains("=") && !isFlag(type, name)) {
        // Beam reads a bare --name as "true", even for a text or a number.
        throw new IllegalArgumentException(arg + " has no value: write " + arg + "=VALUE");
      }
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
      PipelineOptionsFactory.Builder builder = PipelineOptionsFactory.fromArgs(args);
      // Beam's validation resolves the runner, the DirectRunner when none is named; a command that
      // runs no pipeline (the dashboard, alone or inside the demo) names none and may have no
      // DirectRunner on its class path: its values are checked by its own code.
      boolean runnerKnown =
          List.of(args).stream().anyMatch(arg -> arg.startsWith("--runner="))
              || availableRunners().contains("DirectRunner");
      return (runnerKnown ? builder.withValidation() : builder).as(type);
    } catch (IllegalArgumentException e) {
      // Beam's message may not name the option (a bad int says only "Cannot deserialize value of
      // type `int` from String"): find the argument that fails on its own and name it.
      for (String arg : args) {
        try {
          PipelineOptionsFactory.fromArgs(arg).as(type);
        } catch (IllegalArgumentException alone) {
          String message = firstLine(alone.getMessage());
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
      System.err.println(command + ": " + firstLine(e.getMessage()));
      System.exit(2);
      throw e;
    }
  }

  /**
   * Whether {@code name} is a yes/no option of {@code type} (or not one of its options at all: Beam
   * says so then), which a bare {@code --name} sets to true.
   */
  private static boolean isFlag(Class<?> type, String name) {
    if (name.equals("help") || name.isEmpty()) {
      return true;
    }
    String getter = "get" + Character.toUpperCase(name.charAt(0)) + name.substring(1);
    for (Method method : type.getMethods()) {
      if (method.getParameterCount() == 0 && method.getName().equals(getter)) {
        return method.getReturnType() == boolean.class || method.getReturnType() == Boolean.class;
      }
    }
    return true;
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

  /** The first line of a message (Beam's can run over several). */
  public static String firstLine(@Nullable String message) {
    if (message == null) {
      return "invalid options";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
