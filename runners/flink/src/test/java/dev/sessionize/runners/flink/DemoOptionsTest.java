package dev.sessionize.runners.flink;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.dashboard.DashboardOptions;
import dev.sessionize.pipeline.JavaCommand;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.transforms.options.OptionsParser;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The demo and {@code sessionize generate} share the stream's options ({@code
 * GeneratedStreamOptions}) with their own defaults (the demo 20 000 events at 4 000/s, generate 10
 * 000 at 1 000/s, as before they shared them), and all the options the demo's JVM reads (the
 * demo's, the job's and the FlinkRunner's, the dashboard's) live together in Beam's one registry on
 * the FlinkRunner's class path.
 *
 * <p>Generate's own options ({@code --output} a file, {@code --bootstrapServers} without a default)
 * contradict the job's in that registry (Beam wants one default, or none, per name in a JVM): it
 * runs in a JVM of its own, and so it does here.
 */
@RunWith(JUnit4.class)
public class DemoOptionsTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void eachCommandKeepsItsDefaults() throws Exception {
    Demo.Options demo =
        OptionsParser.parse(new String[] {"--runner=FlinkRunner"}, Demo.Options.class);
    assertEquals(20_000, ClickstreamGenerator.orElse(demo.getEvents(), Demo.DEFAULT_EVENTS));
    assertEquals(4000, ClickstreamGenerator.orElse(demo.getRate(), Demo.DEFAULT_RATE));
    assertEquals(500, demo.getUsers());
    assertEquals(42, demo.getSeed());
    assertEquals(Demo.DEFAULT_PARALLELISM, Demo.parallelism(demo));
    assertEquals(8080, DashboardOptions.parse("--port=" + demo.getDashboardPort()).port());

    // Generate without --events and --output writes what it writes with --events=10000 (not the
    // demo's 20 000), to clickstream.jsonl in its working folder.
    File work = tmp.newFolder("generate");
    generate(work, "--users=7", "--seed=9");
    byte[] byDefault = Files.readAllBytes(work.toPath().resolve("clickstream.jsonl"));
    assertArrayEquals(byDefault, generated("--events=10000"));
  }

  @Test
  public void givenValuesWin() {
    // No DirectRunner on this class path for Beam to default to: the runner is named.
    String[] args = {"--runner=FlinkRunner", "--events=300", "--rate=50", "--users=7", "--seed=9"};
    Demo.Options demo = OptionsParser.parse(args, Demo.Options.class);
    assertEquals(300, ClickstreamGenerator.orElse(demo.getEvents(), 1));
    assertEquals(50, ClickstreamGenerator.orElse(demo.getRate(), 1));
    assertEquals(7, demo.getUsers());
    assertEquals(9, demo.getSeed());
  }

  /** What the demo's JVM registers: the demo's, the production job's and the dashboard's. */
  @Test
  public void theDemosAndTheJobsOptionsShareTheRegistry() {
    FlinkProduction.Options production = FlinkProduction.parse(new String[] {"--parallelism=3"});
    Demo.Options demo =
        OptionsParser.parse(new String[] {"--runner=FlinkRunner"}, Demo.Options.class);
    DashboardOptions.Flags dashboard =
        OptionsParser.parse(new String[] {"--redisPort=6380"}, DashboardOptions.Flags.class);
    assertEquals(3, (int) production.getParallelism());
    assertEquals("output", production.getOutput());
    assertEquals("demo", demo.getFolder());
    assertEquals(6380, dashboard.getRedisPort());
  }

  /** Generate's output for {@code --users=7 --seed=9} and {@code more}, from a JVM of its own. */
  private byte[] generated(String more) throws Exception {
    File out = tmp.newFile();
    generate(tmp.getRoot(), "--users=7", "--seed=9", more, "--output=" + out);
    return Files.readAllBytes(out.toPath());
  }

  /** Runs {@code sessionize generate} with {@code args} in {@code dir}, in a JVM of its own. */
  private static void generate(File dir, String... args) throws Exception {
    List<String> command =
        JavaCommand.of(List.of(), ClickstreamGenerator.class.getName(), List.of(args));
    Path log = Files.createTempFile("generate", ".log");
    Process p =
        new ProcessBuilder(new ArrayList<>(command))
            .directory(dir)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    assertTrue("generate " + List.of(args) + " returns", p.waitFor(120, TimeUnit.SECONDS));
    assertEquals("generate " + List.of(args) + ": " + Files.readString(log), 0, p.exitValue());
  }
}
