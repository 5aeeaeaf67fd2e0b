package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ByteSink;
import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Wire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.beam.sdk.coders.CustomCoder;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The running state of one session: everything the session row needs, and nothing per event.
 *
 * <p>Every field is a commutative, associative summary, so the result does not depend on arrival
 * order or on how Beam splits and merges accumulators:
 *
 * <ul>
 *   <li>start and the attributes of the earliest event (entry page, referrer, device, country,
 *       client session id) take the minimum by (event time, attributes);
 *   <li>end and the exit page take the maximum by (event time, page);
 *   <li>pages map each distinct page to its first visit; past the cap only the pages with the
 *       earliest first visits are kept (exact, see {@link #trimPages});
 *   <li>amounts are summed per currency in cents, saturating at the {@code decimal(18,2)} limit.
 * </ul>
 *
 * An empty accumulator ({@link #isEmpty()}) is the identity of {@link #merge}.
 */
public final class SessionAccumulator {
  static final long EMPTY_START = Long.MAX_VALUE;
  static final long MAX_CENTS = 999_999_999_999_999_999L;

  private static final Comparator<String> NULLS_FIRST =
      Comparator.nullsFirst(Comparator.naturalOrder());

  private final int maxPages;

  long start = EMPTY_START;
  long end = Long.MIN_VALUE;
  @Nullable String entryPage;
  @Nullable String referrer;
  @Nullable String deviceType;
  @Nullable String country;
  @Nullable String clientSessionId;
  @Nullable String exitPage;
  int eventCount;
  int pageViewCount;
  int clickCount;
  int purchaseCount;
  final TreeMap<String, Long> centsByCurrency = new TreeMap<>();
  final Map<String, Long> firstVisit = new HashMap<>();

  /** The same pages ordered by (first visit, page); only maintained while trimming is needed. */
  private @Nullable TreeSet<PageVisit> visitOrder;

  SessionAccumulator(int maxPages) {
    this.maxPages = maxPages;
  }

  public boolean isEmpty() {
    return start == EMPTY_START;
  }

  public long startMillis() {
    return start;
  }

  public long endMillis() {
    return end;
  }

  public @Nullable String entryPage() {
    return entryPage;
  }

  public @Nullable String exitPage() {
    return exitPage;
  }

  public @Nullable String referrer() {
    return referrer;
  }

  public @Nullable String deviceType() {
    return deviceType;
  }

  public @Nullable String country() {
    return country;
  }

  public @Nullable String clientSessionId() {
    return clientSessionId;
  }

  public int eventCount() {
    return eventCount;
  }

  public int pageViewCount() {
    return pageViewCount;
  }

  public int clickCount() {
    return clickCount;
  }

  public int purchaseCount() {
    return purchaseCount;
  }

  /** Sums per currency, in cents. */
  public Map<String, Long> centsByCurrency() {
    return centsByCurrency;
  }

  /** Distinct pages in order of first visit (event time, then page). */
  public List<String> pagesInVisitOrder() {
    List<PageVisit> visits = visitsInOrder();
    List<String> pages = new ArrayList<>(visits.size());
    for (PageVisit v : visits) {
      pages.add(v.page);
    }
    return pages;
  }

  /** Each page with its first visit, ordered by (first visit, page). */
  private List<PageVisit> visitsInOrder() {
    if (visitOrder != null) {
      return new ArrayList<>(visitOrder);
    }
    List<PageVisit> visits = new ArrayList<>(firstVisit.size());
    for (Map.Entry<String, Long> e : firstVisit.entrySet()) {
      visits.add(new PageVisit(e.getValue(), e.getKey()));
    }
    visits.sort(null);
    return visits;
  }

  void add(ClickEvent event) {
    long t = event.timestamp().getMillis();
    if (t < start
        || (t == start
            && compareFirst(
                    event.pageUrl(),
                    event.referrer(),
                    event.deviceType(),
                    event.country(),
                    event.clientSessionId())
                < 0)) {
      start = t;
      entryPage = event.pageUrl();
      referrer = event.referrer();
      deviceType = event.deviceType();
      country = event.country();
      clientSessionId = event.clientSessionId();
    }
    if (t > end || (t == end && NULLS_FIRST.compare(event.pageUrl(), exitPage) > 0)) {
      end = t;
      exitPage = event.pageUrl();
    }
    eventCount = saturatedAdd(eventCount, 1);
    switch (event.eventType()) {
      case ClickEvent.PAGE_VIEW:
        pageViewCount = saturatedAdd(pageViewCount, 1);
        break;
      case ClickEvent.CLICK:
        clickCount = saturatedAdd(clickCount, 1);
        break;
      case ClickEvent.PURCHASE:
        purchaseCount = saturatedAdd(purchaseCount, 1);
        if (event.amount() != null) {
          addCents(event.currency(), event.amount().movePointRight(2).longValueExact());
        }
        break;
      default:
        break;
    }
    if (event.pageUrl() != null) {
      visit(event.pageUrl(), t);
    }
  }

  void merge(SessionAccumulator other) {
    if (other.isEmpty()) {
      return;
    }
    if (other.start < start
        || (other.start == start
            && compareFirst(
                    other.entryPage,
                    other.referrer,
                    other.deviceType,
                    other.country,
                    other.clientSessionId)
                < 0)) {
      start = other.start;
      entryPage = other.entryPage;
      referrer = other.referrer;
      deviceType = other.deviceType;
      country = other.country;
      clientSessionId = other.clientSessionId;
    }
    if (other.end > end
        || (other.end == end && NULLS_FIRST.compare(other.exitPage, exitPage) > 0)) {
      end = other.end;
      exitPage = other.exitPage;
    }
    eventCount = saturatedAdd(eventCount, other.eventCount);
    pageViewCount = saturatedAdd(pageViewCount, other.pageViewCount);
    clickCount = saturatedAdd(clickCount, other.clickCount);
    purchaseCount = saturatedAdd(purchaseCount, other.purchaseCount);
    for (Map.Entry<String, Long> e : other.centsByCurrency.entrySet()) {
      addCents(e.getKey(), e.getValue());
    }
    for (Map.Entry<String, Long> e : other.firstVisit.entrySet()) {
      visit(e.getKey(), e.getValue());
    }
  }

  SessionAccumulator copy() {
    SessionAccumulator copy = new SessionAccumulator(maxPages);
    copy.merge(this);
    return copy;
  }

  private int compareFirst(
      @Nullable String page,
      @Nullable String ref,
      @Nullable String device,
      @Nullable String ctry,
      @Nullable String clientSession) {
    int c = NULLS_FIRST.compare(page, entryPage);
    if (c == 0) {
      c = NULLS_FIRST.compare(ref, referrer);
    }
    if (c == 0) {
      c = NULLS_FIRST.compare(device, deviceType);
    }
    if (c == 0) {
      c = NULLS_FIRST.compare(ctry, country);
    }
    if (c == 0) {
      c = NULLS_FIRST.compare(clientSession, clientSessionId);
    }
    return c;
  }

  private void addCents(String currency, long cents) {
    long current = centsByCurrency.getOrDefault(currency, 0L);
    long sum = current + cents;
    if (sum > MAX_CENTS || sum < current) {
      sum = MAX_CENTS;
    }
    centsByCurrency.put(currency, sum);
  }

  private void visit(String page, long t) {
    Long known = firstVisit.get(page);
    if (known != null && known <= t) {
      return;
    }
    firstVisit.put(page, t);
    if (visitOrder != null) {
      if (known != null) {
        visitOrder.remove(new PageVisit(known, page));
      }
      visitOrder.add(new PageVisit(t, page));
    }
    if (firstVisit.size() > maxPages) {
      trimPages();
    }
  }

  /**
   * Drops the pages with the latest first visit until the cap holds. This is exact: a page's key
   * only ever decreases and the set of pages only grows, so the cap-th smallest key only decreases,
   * and a dropped page that comes back with a later visit can never make the cut.
   */
  private void trimPages() {
    if (visitOrder == null) {
      visitOrder = new TreeSet<>();
      for (Map.Entry<String, Long> e : firstVisit.entrySet()) {
        visitOrder.add(new PageVisit(e.getValue(), e.getKey()));
      }
    }
    while (firstVisit.size() > maxPages) {
      PageVisit last = visitOrder.pollLast();
      firstVisit.remove(last.page);
    }
  }

  private static int saturatedAdd(int a, int b) {
    long sum = (long) a + b;
    return sum > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) sum;
  }

  @Override
  public boolean equals(@Nullable Object o) {
    if (!(o instanceof SessionAccumulator)) {
      return false;
    }
    SessionAccumulator that = (SessionAccumulator) o;
    return start == that.start
        && end == that.end
        && eventCount == that.eventCount
        && pageViewCount == that.pageViewCount
        && clickCount == that.clickCount
        && purchaseCount == that.purchaseCount
        && Objects.equals(entryPage, that.entryPage)
        && Objects.equals(referrer, that.referrer)
        && Objects.equals(deviceType, that.deviceType)
        && Objects.equals(country, that.country)
        && Objects.equals(clientSessionId, that.clientSessionId)
        && Objects.equals(exitPage, that.exitPage)
        && centsByCurrency.equals(that.centsByCurrency)
        && firstVisit.equals(that.firstVisit);
  }

  @Override
  public int hashCode() {
    return Objects.hash(start, end, eventCount, entryPage, exitPage, firstVisit);
  }

  @Override
  public String toString() {
    return "SessionAccumulator{start="
        + start
        + ", end="
        + end
        + ", events="
        + eventCount
        + ", pages="
        + pagesInVisitOrder()
        + ", cents="
        + centsByCurrency
        + "}";
  }

  private static final class PageVisit implements Comparable<PageVisit> {
    final long time;
    final String page;

    PageVisit(long time, String page) {
      this.time = time;
      this.page = page;
    }

    @Override
    public int compareTo(PageVisit o) {
      int c = Long.compare(time, o.time);
      return c != 0 ? c : page.compareTo(o.page);
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof PageVisit && compareTo((PageVisit) o) == 0;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(time) * 31 + page.hashCode();
    }
  }

  /**
   * Compact hand-written coder for the session state: times as deltas from the start, pages with
   * their first-visit delta, entry and exit page as an index into the page list when they are in
   * it, each page front-coded against the one before. A typical session (10 events, 5 pages)
   * encodes to well under 300 bytes.
   */
  public static final class Coder extends CustomCoder<SessionAccumulator> {
    private final int maxPages;

    public Coder(int maxPages) {
      this.maxPages = maxPages;
    }

    /** The first byte: an empty accumulator, the first layout (still read), the current one. */
    private static final int EMPTY = 0;

    private static final int LAYOUT_1 = 1;
    private static final int LAYOUT_2 = 2;

    @Override
    public void encode(SessionAccumulator a, OutputStream out) throws IOException {
      if (a.isEmpty()) {
        out.write(EMPTY);
        return;
      }
      // Written to an unsynchronized buffer first, then copied out at once: the runners hand in
      // synchronized streams, and the varints below are written a byte at a time.
      ByteSink buffer = new ByteSink(256);
      encodeState(a, buffer);
      buffer.writeTo(out);
    }

    /** The same bytes as {@link #encode}, written straight to {@code out} (a caller's buffer). */
    static void encodeUnbuffered(SessionAccumulator a, OutputStream out) throws IOException {
      if (a.isEmpty()) {
        out.write(EMPTY);
      } else {
        encodeState(a, out);
      }
    }

    private static void encodeState(SessionAccumulator a, OutputStream out) throws IOException {
      out.write(LAYOUT_2);
      Wire.writeSignedVarLong(a.start, out);
      Wire.writeVarLong(a.end - a.start, out);
      Wire.writeVarInt(a.eventCount, out);
      Wire.writeVarInt(a.pageViewCount, out);
      Wire.writeVarInt(a.clickCount, out);
      Wire.writeVarInt(a.purchaseCount, out);
      List<PageVisit> visits = a.visitsInOrder();
      Wire.writeVarInt(visits.size(), out);
      // Pages front-coded against the page before (URLs share their scheme, host and path
      // prefixes; the shared part counted in UTF-8 bytes), first visits as deltas from the visit
      // before (they are in ascending order).
      byte[] previousPage = new byte[0];
      long previousTime = a.start;
      List<String> pages = new ArrayList<>(visits.size());
      for (PageVisit v : visits) {
        byte[] page = v.page.getBytes(StandardCharsets.UTF_8);
        int shared = Arrays.mismatch(previousPage, page); // -1: equal (pages are distinct)
        shared = shared < 0 ? page.length : shared;
        Wire.writeVarInt(shared, out);
        Wire.writeVarInt(page.length - shared, out);
        out.write(page, shared, page.length - shared);
        Wire.writeVarLong(v.time - previousTime, out);
        previousPage = page;
        previousTime = v.time;
        pages.add(v.page);
      }
      writePageRef(a.entryPage, pages, out);
      writePageRef(a.exitPage, pages, out);
      Wire.writeNullableString(a.referrer, out);
      Wire.writeNullableString(a.deviceType, out);
      Wire.writeNullableString(a.country, out);
      Wire.writeNullableString(a.clientSessionId, out);
      Wire.writeVarInt(a.centsByCurrency.size(), out);
      for (Map.Entry<String, Long> e : a.centsByCurrency.entrySet()) {
        Wire.writeString(e.getKey(), out);
        Wire.writeVarLong(e.getValue(), out);
      }
    }

    @Override
    public SessionAccumulator decode(InputStream in) throws IOException {
      SessionAccumulator a = new SessionAccumulator(maxPages);
      int layout = in.read();
      if (layout == EMPTY) {
        return a;
      }
      if (layout != LAYOUT_1 && layout != LAYOUT_2) {
        throw new IOException("unknown session state layout " + layout);
      }
      a.start = Wire.readSignedVarLong(in);
      a.end = a.start + Wire.readVarLong(in);
      a.eventCount = Wire.readVarInt(in);
      a.pageViewCount = Wire.readVarInt(in);
      a.clickCount = Wire.readVarInt(in);
      a.purchaseCount = Wire.readVarInt(in);
      int pageCount = Wire.readVarInt(in);
      List<String> pages = new ArrayList<>(pageCount);
      byte[] previousPage = new byte[0];
      long previousTime = a.start;
      for (int i = 0; i < pageCount; i++) {
        String page;
        long time;
        if (layout == LAYOUT_1) {
          page = Wire.readString(in);
          time = a.start + Wire.readVarLong(in);
        } else {
          int shared = Wire.readVarInt(in);
          int rest = Wire.readVarInt(in);
          if (shared < 0 || shared > previousPage.length || rest < 0) {
            throw new IOException("corrupt session state: page " + shared + "+" + rest);
          }
          byte[] bytes = Arrays.copyOf(previousPage, shared + rest);
          Wire.readFully(in, bytes, shared, rest);
          page = new String(bytes, StandardCharsets.UTF_8);
          time = previousTime + Wire.readVarLong(in);
          previousPage = bytes;
        }
        pages.add(page);
        a.firstVisit.put(page, time);
        previousTime = time;
      }
      a.entryPage = readPageRef(pages, in);
      a.exitPage = readPageRef(pages, in);
      a.referrer = Wire.readNullableString(in);
      a.deviceType = Wire.readNullableString(in);
      a.country = Wire.readNullableString(in);
      a.clientSessionId = Wire.readNullableString(in);
      int currencies = Wire.readVarInt(in);
      for (int i = 0; i < currencies; i++) {
        a.centsByCurrency.put(Wire.readString(in), Wire.readVarLong(in));
      }
      return a;
    }

    /** 0 = null, 1..n = index + 1 into the page list, n + 1 = inline string follows. */
    private static void writePageRef(@Nullable String page, List<String> pages, OutputStream out)
        throws IOException {
      if (page == null) {
        Wire.writeVarInt(0, out);
        return;
      }
      int index = pages.indexOf(page);
      if (index >= 0) {
        Wire.writeVarInt(index + 1, out);
      } else {
        Wire.writeVarInt(pages.size() + 1, out);
        Wire.writeString(page, out);
      }
    }

    private static @Nullable String readPageRef(List<String> pages, InputStream in)
        throws IOException {
      int ref = Wire.readVarInt(in);
      if (ref == 0) {
        return null;
      }
      return ref <= pages.size() ? pages.get(ref - 1) : Wire.readString(in);
    }

    @Override
    public void verifyDeterministic() {}

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Coder && ((Coder) o).maxPages == maxPages;
    }

    @Override
    public int hashCode() {
      return maxPages;
    }
  }
}
