/// The live drop dashboard: one page, no build step, nothing fetched from elsewhere. It
/// polls `GET /metrics` every second and derives everything from it — rates from counter
/// deltas, P50/P99 from histogram bucket deltas (as Prometheus' histogram_quantile does) —
/// so the dashboard shows exactly what Prometheus would scrape.
enum DashboardPage {
    static let html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>CouponGate — live drop</title>
        <meta name="viewport" content="width=device-width,initial-scale=1">
        <style>
        body{font:14px system-ui,sans-serif;margin:20px;color:#222;background:#fafafa}
        h1{font-size:20px;margin:0 0 4px}.sub{color:#666;margin-bottom:16px}
        .cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}
        .card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:10px 14px;min-width:120px}
        .card .v{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}.card .k{color:#666;font-size:12px}
        table{border-collapse:collapse;background:#fff}td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
        td:first-child,th:first-child{text-align:left}.bar{width:220px;height:10px;background:#eee;border-radius:5px;overflow:hidden}
        .bar>div{height:100%;background:#2ca02c}svg{background:#fff;border:1px solid #e3e3e3;border-radius:6px}
        .err{color:#b00020}
        </style></head><body>
        <h1>CouponGate — live drop</h1>
        <div class="sub">Updated every second from <a href="/metrics">/metrics</a>. <span id="status">connecting…</span></div>
        <div class="cards">
          <div class="card"><div class="v" id="rps-total">–</div><div class="k">applies/s</div></div>
          <div class="card"><div class="v" id="rps-issued">–</div><div class="k">issued/s</div></div>
          <div class="card"><div class="v" id="rps-sold_out">–</div><div class="k">sold out/s</div></div>
          <div class="card"><div class="v" id="rps-duplicate">–</div><div class="k">duplicate/s</div></div>
          <div class="card"><div class="v" id="rps-other">–</div><div class="k">other/s</div></div>
          <div class="card"><div class="v" id="p50">–</div><div class="k">apply P50 (ms, in server)</div></div>
          <div class="card"><div class="v" id="p99">–</div><div class="k">apply P99 (ms, in server)</div></div>
          <div class="card"><div class="v" id="relay-lag">–</div><div class="k">relay lag (s)</div></div>
          <div class="card"><div class="v" id="kafka-lag">–</div><div class="k">Kafka consumer lag (records)</div></div>
          <div class="card"><div class="v" id="applies-total">–</div><div class="k">applies since start</div></div>
        </div>
        <svg id="chart" width="720" height="160" viewBox="0 0 720 160"></svg>
        <h2 style="font-size:16px">Campaigns</h2>
        <table id="campaigns"><tr><th>campaign</th><th>issued</th><th>limit</th><th>remaining</th><th></th></tr></table>
        <script>
        "use strict";
        const history = [];
        let previous = null;
        function parse(text) {
          const series = [];
          for (const line of text.split("\\n")) {
            if (!line || line[0] === "#") continue;
            const m = line.match(/^([a-zA-Z_:][\\w:]*)(\\{(.*)\\})?\\s+(\\S+)/);
            if (!m) continue;
            const labels = {};
            if (m[3]) for (const l of m[3].matchAll(/(\\w+)="((?:[^"\\\\]|\\\\.)*)"/g)) labels[l[1]] = l[2];
            series.push({ name: m[1], labels, value: Number(m[4]) });
          }
          return series;
        }
        function applyBuckets(series) {
          const buckets = new Map();
          for (const s of series) {
            if (s.name !== "http_request_duration_seconds_bucket" || !/\\/apply$/.test(s.labels.route || "")) continue;
            const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
            buckets.set(le, (buckets.get(le) || 0) + s.value);
          }
          return buckets;
        }
        function quantile(q, now, before) {
          const les = [...now.keys()].sort((a, b) => a - b);
          const counts = les.map(le => (now.get(le) || 0) - ((before && before.get(le)) || 0));
          const total = counts[counts.length - 1] || 0;
          if (total <= 0) return null;
          const rank = q * total;
          for (let i = 0; i < les.length; i++) {
            if (counts[i] >= rank) {
              if (les[i] === Infinity) return les[i - 1] * 1000;
              const lower = i === 0 ? 0 : les[i - 1], below = i === 0 ? 0 : counts[i - 1];
              const inBucket = counts[i] - below;
              return (lower + (les[i] - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1)) * 1000;
            }
          }
          return null;
        }
        const fmt = (v, d = 0) => v === null || v === undefined || isNaN(v) ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
        function set(id, text) { document.getElementById(id).textContent = text; }
        function draw() {
          const svg = document.getElementById("chart");
          const max = Math.max(1, ...history.map(h => h.total));
          const x = i => 40 + i * (670 / 59), y = v => 140 - 120 * v / max;
          const line = key => history.map((h, i) => `${x(i).toFixed(1)},${y(h[key]).toFixed(1)}`).join(" ");
          svg.innerHTML = `<text x="4" y="16" font-size="11">applies/s (last 60 s), max ${fmt(max)}</text>` +
            `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${line("total")}"/>` +
            `<polyline fill="none" stroke="#2ca02c" stroke-width="1.5" points="${line("issued")}"/>` +
            `<polyline fill="none" stroke="#7f7f7f" stroke-width="1.5" points="${line("sold_out")}"/>`;
        }
        async function poll() {
          try {
            const response = await fetch("/metrics", { cache: "no-store" });
            if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
            const series = parse(await response.text());
            // The server's clock: rates stay right however late this page polls.
            const uptime = series.find(s => s.name === "coupongate_uptime_seconds");
            const now = { at: uptime ? uptime.value * 1000 : performance.now(), buckets: applyBuckets(series), outcomes: {} };
            for (const s of series) if (s.name === "coupongate_applies_total") now.outcomes[s.labels.outcome] = s.value;
            const total = Object.values(now.outcomes).reduce((a, b) => a + b, 0);
            set("applies-total", fmt(total));
            if (previous) {
              const seconds = Math.max(0.001, (now.at - previous.at) / 1000);
              const rate = k => ((now.outcomes[k] || 0) - (previous.outcomes[k] || 0)) / seconds;
              const totalRate = Object.keys(now.outcomes).reduce((a, k) => a + rate(k), 0);
              const point = { total: totalRate, issued: rate("issued"), sold_out: rate("sold_out") };
              set("rps-total", fmt(totalRate)); set("rps-issued", fmt(point.issued)); set("rps-sold_out", fmt(point.sold_out));
              set("rps-duplicate", fmt(rate("duplicate")));
              set("rps-other", fmt(totalRate - point.issued - point.sold_out - rate("duplicate")));
              set("p50", fmt(quantile(0.5, now.buckets, previous.buckets), 2));
              set("p99", fmt(quantile(0.99, now.buckets, previous.buckets), 2));
              history.push(point); if (history.length > 60) history.shift(); draw();
            }
            const lag = series.find(s => s.name === "coupongate_relay_lag_seconds");
            set("relay-lag", lag ? fmt(lag.value, 1) : "n/a");
            // On a consumer's own /metrics (coupongate consume --metrics-port): its partitions' lag, summed.
            const kafka = series.filter(s => s.name === "coupongate_consumer_lag_records");
            set("kafka-lag", kafka.length ? fmt(kafka.reduce((sum, s) => sum + s.value, 0)) : "n/a");
            const campaigns = {};
            for (const s of series) {
              const m = s.name.match(/^coupongate_campaign_(limit|issued|remaining)$/);
              if (m) (campaigns[s.labels.campaign] ||= {})[m[1]] = s.value;
            }
            const table = document.getElementById("campaigns");
            while (table.rows.length > 1) table.deleteRow(1);
            for (const [id, c] of Object.entries(campaigns).sort()) {
              const row = table.insertRow();
              row.className = "campaign"; row.dataset.campaign = id;
              const share = c.limit > 0 ? Math.min(100, 100 * c.issued / c.limit) : 0;
              row.innerHTML = `<td></td><td class="issued">${fmt(c.issued)}</td><td>${fmt(c.limit)}</td><td>${fmt(c.remaining)}</td>` +
                `<td><div class="bar"><div style="width:${share.toFixed(1)}%"></div></div></td>`;
              row.cells[0].textContent = id;
            }
            previous = now;
            set("status", "live"); document.getElementById("status").className = "";
          } catch (error) {
            set("status", String(error.message || error)); document.getElementById("status").className = "err";
          }
        }
        poll();
        setInterval(poll, 1000);
        </script>
        </body></html>

        """
}
