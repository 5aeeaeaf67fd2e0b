package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.transforms.Combine.CombineFn;

/**
 * Folds a session's events into a {@link SessionAccumulator}. Order-independent: see the
 * accumulator for the rules. The output is a snapshot copy, so Beam may keep accumulating panes.
 */
public class SessionCombineFn
    extends CombineFn<ClickEvent, SessionAccumulator, SessionAccumulator> {
  private final int maxPages;

  public SessionCombineFn(int maxPages) {
    this.maxPages = maxPages;
  }

  @Override
  public SessionAccumulator createAccumulator() {
    return new SessionAccumulator(maxPages);
  }

  @Override
  public SessionAccumulator addInput(SessionAccumulator accumulator, ClickEvent event) {
    accumulator.add(event);
    return accumulator;
  }

  @Override
  public SessionAccumulator mergeAccumulators(Iterable<SessionAccumulator> accumulators) {
    SessionAccumulator merged = createAccumulator();
    for (SessionAccumulator a : accumulators) {
      if (a != null) {
        merged.merge(a);
      }
    }
    return merged;
  }

  @Override
  public SessionAccumulator extractOutput(SessionAccumulator accumulator) {
    return accumulator.copy();
  }

  @Override
  public Coder<SessionAccumulator> getAccumulatorCoder(
      CoderRegistry registry, Coder<ClickEvent> inputCoder) throws CannotProvideCoderException {
    return new SessionAccumulator.Coder(maxPages);
  }

  @Override
  public Coder<SessionAccumulator> getDefaultOutputCoder(
      CoderRegistry registry, Coder<ClickEvent> inputCoder) throws CannotProvideCoderException {
    return new SessionAccumulator.Coder(maxPages);
  }
}
