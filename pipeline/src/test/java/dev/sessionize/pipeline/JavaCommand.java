package dev.sessionize.pipeline;

import java.io.File;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a JVM a test starts beside itself, as the project's exec configurations start
 * one: this JVM's {@code java}, the {@code --add-opens} flags of the parent pom's {@code
 * sessionize.jvm.opens} (passed to the tests as a system property), the given JVM flags, a class
 * path, the main class and its arguments.
 */
public final class JavaCommand {
  private JavaCommand() {}

  /** With this JVM's class path. */
  public static List<String> of(List<String> jvmFlags, String mainClass, List<String> args) {
    return of(System.getProperty("java.class.path"), jvmFlags, mainClass, args);
  }

  public static List<String> of(
      String classPath, List<String> jvmFlags, String mainClass, List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(new File(System.getProperty("java.home"), "bin/java").getPath());
    for (String flag : System.getProperty("sessionize.jvm.opens", "").split(" ")) {
      if (!flag.isBlank()) {
        command.add(flag);
      }
    }
    command.addAll(jvmFlags);
    command.add("-cp");
    command.add(classPath);
    command.add(mainClass);
    command.addAll(args);
    return command;
  }
}
