// A third-party Binance spot market-data client using only the JDK (java.net.http), run as
//   java test/thirdparty/BinanceClient.java <restUrl> <wsUrl>
// It reads exchangeInfo, klines and the combined kline+trade stream for BTCUSDT and checks
// what a Binance client relies on. Exit code 0 when everything matched, 1 otherwise.
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class BinanceClient {
  static int failures = 0;

  static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\":(\"([^\"]*)\"|(-?[0-9]+)|(true|false))").matcher(json);
    if (!m.find()) return null;
    return m.group(2) != null ? m.group(2) : m.group(3) != null ? m.group(3) : m.group(4);
  }

  public static void main(String[] args) throws Exception {
    String rest = args[0];
    String ws = args[1];
    HttpClient http = HttpClient.newHttpClient();

    String info = get(http, rest + "/api/v3/exchangeInfo?symbol=BTCUSDT");
    check(info.contains("\"symbol\":\"BTCUSDT\"") && "TRADING".equals(field(info, "status")), "exchangeInfo lists BTCUSDT, TRADING");
    check("BTC".equals(field(info, "baseAsset")) && "USDT".equals(field(info, "quoteAsset")), "base/quote assets");
    check("0.01000000".equals(field(info, "tickSize")), "PRICE_FILTER tickSize 0.01");

    // 1m klines of the first recorded hour: 60 rows of 12 fields, consecutive, high/low bound o/c
    String kl = get(http, rest + "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=1704067200000&limit=60");
    List<String[]> rows = parseRows(kl);
    check(rows.size() == 60, "60 klines (got " + rows.size() + ")");
    boolean shape = true;
    for (int i = 0; i < rows.size(); i++) {
      String[] r = rows.get(i);
      BigDecimal o = new BigDecimal(r[1]), h = new BigDecimal(r[2]), l = new BigDecimal(r[3]), c = new BigDecimal(r[4]);
      shape &= r.length == 12 && Long.parseLong(r[0]) == 1704067200000L + 60000L * i && Long.parseLong(r[6]) == Long.parseLong(r[0]) + 59999;
      shape &= h.compareTo(o.max(c)) >= 0 && l.compareTo(o.min(c)) <= 0;
    }
    check(shape, "kline rows: 12 fields, consecutive minutes, low <= open/close <= high");
    check(rows.size() > 0 && "42283.58000000".equals(rows.get(0)[1]), "first open is the recorded 42283.58000000");
    String err = getStatus(http, rest + "/api/v3/klines?symbol=NOPEUSDT&interval=1m");
    check(err.startsWith("400 ") && err.contains("-1121"), "unknown symbol → 400 {code:-1121}");

    // combined stream: trades of a whole minute must add up to its closed kline
    LinkedBlockingQueue<String> frames = new LinkedBlockingQueue<>();
    WebSocket sock = http.newWebSocketBuilder()
        .buildAsync(URI.create(ws + "/stream?streams=btcusdt@kline_1m/btcusdt@trade"), new WebSocket.Listener() {
          StringBuilder buf = new StringBuilder();

          public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
            buf.append(data);
            if (last) {
              frames.add(buf.toString());
              buf = new StringBuilder();
            }
            w.request(1);
            return null;
          }
        })
        .get(10, TimeUnit.SECONDS);
    long minute = -1;
    BigDecimal vol = BigDecimal.ZERO, buy = BigDecimal.ZERO;
    String first = null, lastP = null;
    long firstId = -1, lastId = -1;
    int checked = 0;
    long deadline = System.currentTimeMillis() + 20_000;
    while (checked < 2 && System.currentTimeMillis() < deadline) {
      String f = frames.poll(1, TimeUnit.SECONDS);
      if (f == null) continue;
      check(f.startsWith("{\"stream\":\"btcusdt@"), "envelope {stream,data}") ;
      if (f.contains("\"e\":\"trade\"")) {
        long t = Long.parseLong(field(f, "T"));
        long m = t - t % 60000;
        long id = Long.parseLong(field(f, "t"));
        if (m != minute) {
          minute = m;
          vol = BigDecimal.ZERO;
          buy = BigDecimal.ZERO;
          first = field(f, "p");
          firstId = id;
        } else if (id != lastId + 1) check(false, "trade ids consecutive");
        lastId = id;
        lastP = field(f, "p");
        BigDecimal q = new BigDecimal(field(f, "q"));
        vol = vol.add(q);
        if ("false".equals(field(f, "m"))) buy = buy.add(q);
      } else if ("true".equals(field(f, "x"))) {
        long t = Long.parseLong(field(f, "t"));
        if (t != minute || firstId != Long.parseLong(field(f, "f"))) continue; // joined mid-minute
        String o = field(f, "o"), c = field(f, "c"), v = field(f, "v"), V = field(f, "V");
        check(new BigDecimal(v).compareTo(vol) == 0, "minute " + t + ": trades sum to v=" + v + " (got " + vol + ")");
        check(new BigDecimal(V).compareTo(buy) == 0, "minute " + t + ": taker buys sum to V=" + V);
        check(o.equals(first) && c.equals(lastP), "minute " + t + ": first/last trade = open/close");
        check(Long.parseLong(field(f, "L")) == lastId, "minute " + t + ": kline L = last trade id");
        // the REST row of that minute is the same candle
        List<String[]> r = parseRows(get(http, rest + "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=" + t + "&limit=1"));
        check(r.size() == 1 && r.get(0)[1].equals(o) && r.get(0)[4].equals(c) && r.get(0)[5].equals(v)
            && r.get(0)[8].equals(field(f, "n")), "minute " + t + ": REST row = WS closed kline");
        checked++;
      }
    }
    check(checked == 2, "two whole minutes checked over the stream");
    sock.abort();
    System.out.println(failures == 0 ? "ALL OK" : failures + " FAILURES");
    System.exit(failures == 0 ? 0 : 1);
  }

  static String get(HttpClient http, String url) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) throw new RuntimeException("GET " + url + " -> " + r.statusCode() + " " + r.body());
    return r.body();
  }

  static String getStatus(HttpClient http, String url) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    return r.statusCode() + " " + r.body();
  }

  /** [[t,"o","h","l","c","v",T,"q",n,"V","Q","0"],...] → rows of strings. */
  static List<String[]> parseRows(String json) {
    List<String[]> out = new ArrayList<>();
    Matcher m = Pattern.compile("\\[([^\\[\\]]*)\\]").matcher(json);
    while (m.find()) {
      String[] cells = m.group(1).split(",");
      for (int i = 0; i < cells.length; i++) cells[i] = cells[i].replace("\"", "");
      out.add(cells);
    }
    return out;
  }
}
