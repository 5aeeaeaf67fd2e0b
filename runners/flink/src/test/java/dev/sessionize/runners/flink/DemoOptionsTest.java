package dev.sessionize.runners.flink;

import static org.junit.Assert.assertEquals;

import dev.sessionize.dashboard.DashboardOptions;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.transforms.options.OptionsParser;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The demo and {@code sessionize generate} share the stream's options ({@code
 * GeneratedStreamOptions}) with their own defaults (the demo 20 000 events at 4 000/s, generate 10
 * 000 at 1 000/s, as before they shared them), and all the options the demo reads, the dashboard's
 * included, live together in Beam's one registry on the FlinkRunner's class path.
 */
@RunWith(JUnit4.class)
public class DemoOptionsTest {
  @Test
  public void eachCommandKeepsItsDefaults() {
    Demo.Options demo =
        OptionsParser.parse(new String[] {"--runner=FlinkRunner"}, Demo.Options.class);
    ClickstreamGenerator.Options generate =
        OptionsParser.parse(
            new String[] {"--runner=FlinkRunner"}, ClickstreamGenerator.Options.class);
    assertEquals(20_000, ClickstreamGenerator.orElse(demo.getEvents(), Demo.DEFAULT_EVENTS));
    assertEquals(4000, ClickstreamGenerator.orElse(demo.getRate(), Demo.DEFAULT_RATE));
    assertEquals(
        10_000,
        ClickstreamGenerator.orElse(generate.getEvents(), ClickstreamGenerator.DEFAULT_EVENTS));
    assertEquals(
        1000, ClickstreamGenerator.orElse(generate.getRate(), ClickstreamGenerator.DEFAULT_RATE));
    assertEquals(500, demo.getUsers());
    assertEquals(500, generate.getUsers());
    assertEquals(42, demo.getSeed());
    assertEquals(42, generate.getSeed());
    assertEquals(Demo.DEFAULT_PARALLELISM, Demo.parallelism(demo));
    assertEquals(8080, DashboardOptions.parse("--port=" + demo.getDashboardPort()).port());
  }

  @Test
  public void givenValuesWin() {
    // No DirectRunner on this class path for Beam to default to: the runner is named.
    String[] args = {"--runner=FlinkRunner", "--events=300", "--rate=50", "--users=7", "--seed=9"};
    ClickstreamGenerator.Options generate =
        OptionsParser.parse(args, ClickstreamGenerator.Options.class);
    assertEquals(300, ClickstreamGenerator.orElse(generate.getEvents(), 1));
    assertEquals(50, ClickstreamGenerator.orElse(generate.getRate(), 1));
    assertEquals(7, generate.getUsers());
    assertEquals(9, generate.getSeed());
  }
}
