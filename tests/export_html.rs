//! `goroscope report REC --html -o FILE` end to end: real recordings of the sched fixture (root)
//! rendered as HTML and loaded by headless Chromium (Debian's `chromium`) with the network
//! disabled: no console errors (Chromium's log and the page's own error trap), a screenshot that
//! is not blank (decoded here), every number in the DOM (`data-metric` elements) equal to
//! `report --json`'s value at its path, the embedded JSON equal to `report --json`, no
//! `http(s)://` in the file, "not captured" where the level did not capture; names holding
//! `<`, `&` and quotes escaped (no root); and bad inputs, which must fail clearly and leave no
//! file under the output name.

#[allow(unused_imports)] // record_support uses its assertions, not require_root
mod bpf_support;
mod record_support;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use goroscope_events::{Event, EventKind};
use goroscope_export::html::overview::{OverviewData, TrackData};
use goroscope_record::{ChunkWriter, ClockBase, EndRecord, Header, Target};
use record_support::{record_fixture, report_json};
use serde_json::Value;

fn goroscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(args)
        .env_remove("GOROSCOPE_LOG")
        .output()
        .expect("running goroscope")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `goroscope report REC --html -o OUT`, which must succeed; returns its stderr.
fn report_html(rec: &Path, out: &Path) -> String {
    let o = goroscope(&["report", s(rec), "--html", "-o", s(out)]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "report --html failed: {stderr}");
    assert!(stderr.contains("wrote the HTML report to"), "{stderr}");
    stderr
}

/// Headless Chromium on `page` with no network: `extra` args (e.g. `--dump-dom`); returns
/// stdout, after checking its log holds no console message (the page writes none: any is an
/// error or a warning).
fn chromium(page: &Path, extra: &[&str]) -> Vec<u8> {
    chromium_at(page, "", extra)
}

/// [`chromium`] on `page` + `fragment` (e.g. `#t=1,2`).
fn chromium_at(page: &Path, fragment: &str, extra: &[&str]) -> Vec<u8> {
    // A profile of its own: Chromium refuses a profile another instance holds.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = testsupport::scratch_path("export_html", &format!("chromium-{run}"));
    let out = Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .expect("running chromium (Debian's chromium package: scripts/install-deps.sh)");
    let _ = std::fs::remove_dir_all(&profile);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {stderr}");
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    out.stdout
}

/// The page as Chromium leaves it after its scripts ran; checks the page's own error trap.
fn dump_dom(page: &Path) -> String {
    dump_dom_at(page, "")
}

fn dump_dom_at(page: &Path, fragment: &str) -> String {
    let dom = String::from_utf8(chromium_at(page, fragment, &["--dump-dom"])).expect("UTF-8 DOM");
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not finish"
    );
    assert!(
        dom.contains("data-errors=\"0\""),
        "errors in the page: {}",
        dom.split("id=\"page-errors\"")
            .nth(1)
            .unwrap_or("")
            .get(..600)
            .unwrap_or("")
    );
    dom
}

/// Every `data-metric="path" data-value="v"` pair in `dom`.
fn metrics(dom: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find("data-metric=\"") {
        rest = &rest[at + 13..];
        let end = rest.find('"').unwrap();
        let path = rest[..end].to_string();
        rest = &rest[end..];
        let value = rest
            .strip_prefix("\" data-value=\"")
            .unwrap_or_else(|| panic!("{path}: no data-value beside data-metric"));
        let end = value.find('"').unwrap();
        found.push((path, value[..end].to_string()));
        rest = &value[end..];
    }
    found
}

/// The value at a dotted path (array indices as numbers).
fn at<'a>(json: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(json, |v, part| match v {
        Value::Array(a) => a.get(part.parse::<usize>().ok()?),
        Value::Object(o) => o.get(part),
        _ => None,
    })
}

/// Every number of the DOM equals the report's; returns the paths seen.
fn numbers_equal_the_report(dom: &str, json: &Value) -> Vec<String> {
    let found = metrics(dom);
    for (path, shown) in &found {
        let v = at(json, path).unwrap_or_else(|| panic!("{path} is not in the JSON report"));
        let Value::Number(n) = v else {
            panic!("{path} is {v}, not a number")
        };
        assert_eq!(&n.to_string(), shown, "{path}");
    }
    found.into_iter().map(|(p, _)| p).collect()
}

/// The JSON embedded in the page file.
fn embedded_json(html: &str) -> Value {
    let start = "<script type=\"application/json\" id=\"report-data\">";
    let from = html.find(start).expect("embedded report") + start.len();
    let to = from + html[from..].find("</script>").unwrap();
    serde_json::from_str(&html[from..to]).expect("embedded report JSON")
}

/// A minimal PNG reader (8-bit RGB or RGBA, not interlaced: what Chromium writes): the pixels'
/// RGB values.
fn png_pixels(png: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut pos, mut idat) = (8, Vec::new());
    let (mut w, mut h, mut channels) = (0u32, 0u32, 0usize);
    while pos + 8 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &png[pos + 4..pos + 8];
        let data = &png[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().unwrap());
                h = u32::from_be_bytes(data[4..8].try_into().unwrap());
                assert_eq!(data[8], 8, "bit depth");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    t => panic!("PNG colour type {t}"),
                };
                assert_eq!(data[12], 0, "interlaced PNG");
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(idat.as_slice())
        .read_to_end(&mut raw)
        .expect("PNG data");
    let stride = w as usize * channels;
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity((w * h) as usize);
    for row in raw.chunks(stride + 1).take(h as usize) {
        let (filter, data) = (row[0], &row[1..]);
        let mut cur = vec![0u8; stride];
        for i in 0..stride {
            let a = if i >= channels { cur[i - channels] } else { 0 };
            let b = prev[i];
            let c = if i >= channels { prev[i - channels] } else { 0 };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("PNG filter {f}"),
            };
            cur[i] = data[i].wrapping_add(predicted);
        }
        pixels.extend(cur.chunks(channels).map(|p| [p[0], p[1], p[2]]));
        prev = cur;
    }
    (w, h, pixels)
}

/// A screenshot of `page` shows a page: many colours, a good share of non-white pixels.
fn screenshot_is_not_blank(page: &Path) {
    let png = page.with_extension("png");
    let _ = std::fs::remove_file(&png);
    chromium(
        page,
        &[
            "--window-size=1280,1600",
            &format!("--screenshot={}", png.display()),
        ],
    );
    let (w, h, pixels) = png_pixels(&std::fs::read(&png).expect("the screenshot"));
    assert_eq!((w, h), (1280, 1600));
    let colours: std::collections::HashSet<[u8; 3]> = pixels.iter().copied().collect();
    let ink = pixels.iter().filter(|p| p.iter().any(|&c| c < 200)).count();
    assert!(colours.len() >= 20, "{} colours", colours.len());
    assert!(
        ink * 50 > pixels.len(),
        "{ink} of {} pixels not white",
        pixels.len()
    );
}

fn no_network_references(html: &str) {
    for scheme in ["http://", "https://", "//cdn", "src=\"//"] {
        assert!(!html.contains(scheme), "the page names {scheme}");
    }
}

/// Records the sched fixture's `scenario` with GOMAXPROCS=2 at `level`.
fn record(scenario: &str, level: &str) -> PathBuf {
    record_fixture("export_html", "sched", &["-scenario", scenario], level)
}

/// The page of `rec`: checked against `report --json` in every way that does not depend on
/// the level. Returns the DOM, the report and the metric paths shown.
fn check_page(rec: &Path) -> (String, Value, Vec<String>) {
    let page = rec.with_extension("html");
    report_html(rec, &page);
    let html = std::fs::read_to_string(&page).unwrap();
    no_network_references(&html);
    let json = report_json(rec);
    assert_eq!(embedded_json(&html), json, "embedded JSON ≠ report --json");
    let dom = dump_dom(&page);
    let paths = numbers_equal_the_report(&dom, &json);
    screenshot_is_not_blank(&page);
    (dom, json, paths)
}

#[test]
#[ignore = "needs root: records the sched fixture with BPF"]
fn html_report_numbers_equal_the_json_report() {
    testsupport::require_root();
    let rec = record("producer", "full");
    let (dom, json, paths) = check_page(&rec);
    for required in [
        "duration_ns",
        "events.total",
        "goroutines.created",
        "sched_latency.p50_ns",
        "sched_latency.p99_ns",
        "sched_latency.histogram.0.count",
        "goroutines.by_creation_site.0.created",
        "threads.per_thread.0.on_cpu_ns",
        "threads.per_thread.0.off_cpu_ns",
        "scheduler.run_queues.from.global",
        "scheduler.idle.ps.per_p.0.busy_ns",
    ] {
        assert!(
            paths.iter().any(|p| p == required),
            "{required} is not shown"
        );
    }
    // Every number of the report's main sections is on the page (not only the required ones).
    assert!(paths.len() > 500, "{} numbers shown", paths.len());
    // The timeline: one row per P that ran goroutines and per thread, exact slices drawn.
    let gomaxprocs = json["scheduler"]["gomaxprocs"]["last"].as_u64().unwrap() as usize;
    assert_eq!(dom.matches("class=\"track p\"").count(), gomaxprocs);
    assert!(dom.matches("class=\"track thread\"").count() >= 2);
    assert!(dom.contains("data-downsampled=\"false\""));
    assert!(dom.matches("fill=\"hsl(").count() >= 10, "P slices drawn");
    assert!(
        !dom.contains("Not captured: the"),
        "a default-level part marked not captured"
    );
    zoomed_in_the_timeline_draws_that_window(&rec.with_extension("html"), &json);
    interactions_work(&rec.with_extension("html"));

    // Cut inside a chunk: still a page, which says so.
    let data = std::fs::read(&rec).unwrap();
    let cut = testsupport::scratch_path("export_html", "cut.rec");
    std::fs::write(&cut, &data[..data.len() * 2 / 3]).unwrap();
    let cut_page = cut.with_extension("html");
    let stderr = report_html(&cut, &cut_page);
    assert!(stderr.contains("truncated"), "{stderr}");
    let dom = dump_dom(&cut_page);
    assert!(
        dom.contains("class=\"warning\">Warning: truncated"),
        "no warning on the page"
    );
    numbers_equal_the_report(&dom, &report_json(&cut));
}

/// Clicks every column title of every sortable table and turns the mouse wheel over the
/// timeline, from a script added to a copy of the page; returns what it saw, as JSON.
const INTERACT: &str = r#"(function () {
  var res = { tables: 0, columns: 0, bad: [], before: '', zoomed: '', dragged: '' };
  function ordered(keys, dir) {
    for (var i = 1; i < keys.length; i++) {
      var a = keys[i - 1], b = keys[i];
      if (a === '' || b === '' || !isFinite(a) || !isFinite(b)) continue;
      if (dir === 'desc' ? Number(a) < Number(b) : Number(a) > Number(b)) return false;
    }
    return true;
  }
  document.querySelectorAll('table.sortable').forEach(function (t, ti) {
    res.tables++;
    var ths = t.tHead.rows[0].cells;
    for (var c = 0; c < ths.length; c++) {
      ['desc', 'asc'].forEach(function (dir) {
        ths[c].click();
        var keys = Array.prototype.map.call(t.tBodies[0].rows, function (r) {
          return r.cells[c].getAttribute('data-sort');
        });
        if (ths[c].getAttribute('data-dir') !== dir || !ordered(keys, dir)) {
          res.bad.push(ti + ':' + c + ':' + dir);
        }
      });
      res.columns++;
    }
  });
  var host = document.getElementById('timeline-chart');
  var range = document.getElementById('timeline-range');
  res.before = range.textContent;
  var r = host.getBoundingClientRect();
  host.dispatchEvent(new WheelEvent('wheel', { deltaY: -100, clientX: r.left + 400,
    clientY: r.top + 30, bubbles: true, cancelable: true }));
  host.dispatchEvent(new WheelEvent('wheel', { deltaY: -100, clientX: r.left + 400,
    clientY: r.top + 30, bubbles: true, cancelable: true }));
  res.zoomed = range.textContent;
  host.dispatchEvent(new MouseEvent('mousedown', { clientX: r.left + 500, bubbles: true }));
  window.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + 300, bubbles: true }));
  window.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
  res.dragged = range.textContent;
  var pre = document.createElement('pre');
  pre.id = 'interaction-result';
  pre.textContent = JSON.stringify(res);
  document.body.appendChild(pre);
})();"#;

/// Sorting and zooming work in the browser: every column sorts both ways, the wheel narrows
/// the timeline's window and a drag moves it.
fn interactions_work(page: &Path) {
    let html = std::fs::read_to_string(page).unwrap();
    let copy = page.with_extension("interact.html");
    std::fs::write(
        &copy,
        html.replace("</body>", &format!("<script>{INTERACT}</script></body>")),
    )
    .unwrap();
    let dom = dump_dom(&copy);
    let from = dom
        .find("<pre id=\"interaction-result\">")
        .expect("the script's result")
        + "<pre id=\"interaction-result\">".len();
    let text = &dom[from..from + dom[from..].find("</pre>").unwrap()];
    let res: Value = serde_json::from_str(&text.replace("&amp;", "&")).unwrap();
    assert!(res["tables"].as_u64().unwrap() >= 10, "{res}");
    assert!(res["columns"].as_u64().unwrap() >= 50, "{res}");
    assert_eq!(
        res["bad"],
        serde_json::json!([]),
        "columns that did not sort: {res}"
    );
    let (before, zoomed, dragged) = (&res["before"], &res["zoomed"], &res["dragged"]);
    assert!(before.as_str().unwrap().starts_with("0 ns – "), "{res}");
    assert_ne!(before, zoomed, "the wheel did not zoom: {res}");
    assert_ne!(zoomed, dragged, "the drag did not pan: {res}");
    // A window of the same trace.
    let of = |s: &Value| {
        s.as_str()
            .unwrap()
            .rsplit(" of ")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(of(before), of(zoomed));
}

/// `x` and `width` of the P slices the timeline drew (`<rect x=.. y=.. width=.. height=..
/// fill="hsl(..)">`).
fn p_slice_rects(dom: &str) -> Vec<(f64, f64)> {
    let mut rects = Vec::new();
    for part in dom.split("<rect ").skip(1) {
        let tag = &part[..part.find('>').unwrap()];
        if !tag.contains("fill=\"hsl(") {
            continue;
        }
        let attr = |name: &str| -> f64 {
            let from = tag.find(&format!(" {name}=\"")).map_or_else(
                || tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2,
                |at| at + name.len() + 3,
            );
            tag[from..from + tag[from..].find('"').unwrap()]
                .parse()
                .unwrap()
        };
        rects.push((attr("x"), attr("width")));
    }
    rects
}

/// The page opened at `#t=A,B` draws that window: its range, and only the P slices in it.
fn zoomed_in_the_timeline_draws_that_window(page: &Path, json: &Value) {
    let html = std::fs::read_to_string(page).unwrap();
    let start = "<script type=\"application/json\" id=\"timeline-data\">";
    let from = html.find(start).unwrap() + start.len();
    let timeline: Value =
        serde_json::from_str(&html[from..from + html[from..].find("</script>").unwrap()]).unwrap();
    let dur = json["duration_ns"].as_u64().unwrap();
    let (a, b) = (dur * 2 / 5, dur / 2);
    let p_tracks: Vec<i64> = timeline["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, t)| t["kind"] == "p")
        .map(|(i, _)| i as i64)
        .collect();
    let in_window = |s: &Value| {
        let (track, st, d) = (
            s[0].as_i64().unwrap(),
            s[1].as_u64().unwrap(),
            s[2].as_u64().unwrap(),
        );
        p_tracks.contains(&track) && st + d >= a && st <= b
    };
    let slices = timeline["slices"].as_array().unwrap();
    let expected = slices.iter().filter(|s| in_window(s)).count();
    let full = p_slice_rects(&dump_dom(page));
    let zoomed = p_slice_rects(&dump_dom_at(page, &format!("#t={a},{b}")));
    assert!(
        !zoomed.is_empty() && zoomed.len() <= expected,
        "{} rects, {expected} slices in the window",
        zoomed.len()
    );
    // Drawn inside the plot (it starts 130 px from the left).
    assert!(
        zoomed.iter().all(|&(x, w)| x >= 129.9 && w >= 1.0),
        "{zoomed:?}"
    );
    assert_ne!(full.len(), zoomed.len(), "the view did not change");
}

#[test]
fn a_downsampled_timeline_draws_its_bins() {
    let json = serde_json::json!({"duration_ns": 10_000_000, "version": 1});
    let overview = OverviewData {
        duration_ns: 10_000_000,
        bin_ns: 10_000,
        bins: 1000,
        tracks: (0..3u16)
            .map(|p| TrackData {
                kind: "p",
                id: i64::from(p),
                label: format!("P{p}"),
                busy_ns: 5_000_000,
                slices: 100_000,
                bins: (0..1000u16).map(|i| (i * 7 + p * 300) % 1001).collect(),
            })
            .collect(),
        ps_omitted: 0,
        threads_omitted: 2,
        slices_seen: 300_000,
        max_slices: 40_000,
        slices: None,
        functions: vec![],
        goroutines: Default::default(),
        pauses_seen: 0,
        max_pauses: 10,
        pauses: Some(vec![]),
        pause_reasons: vec![],
    };
    let html = goroscope_export::html::render(&json.to_string(), &overview).unwrap();
    let page = testsupport::scratch_path("export_html", "bins.html");
    std::fs::write(&page, &html).unwrap();
    let dom = dump_dom(&page);
    assert!(dom.contains("data-downsampled=\"true\""));
    assert!(dom.contains("Downsampled: the recording has 300000 slices, more than the 40000"));
    assert!(dom.contains("Left out: 0 Ps and 2 threads"));
    let bars = dom.matches("fill=\"var(--accent)\"").count();
    // Three rows of 1000 bins on a plot narrower than 1000 px: one bar per pixel column at most.
    assert!(bars > 300 && bars < 3 * 1000, "{bars} bars");
    // 100 bins in the window, each wider than a pixel: one bar each (empty bins draw nothing).
    let zoomed = dump_dom_at(&page, "#t=0,1000000");
    let bars = zoomed.matches("fill=\"var(--accent)\"").count();
    assert!((250..=303).contains(&bars), "{bars} bars");
    screenshot_is_not_blank(&page);
}

#[test]
#[ignore = "needs root: records the sched fixture with BPF"]
fn html_timeline_shows_the_stop_the_world_pauses_of_the_report() {
    testsupport::require_root();
    let rec = record("gc", "full");
    let (dom, json, _) = check_page(&rec);
    let html = std::fs::read_to_string(rec.with_extension("html")).unwrap();
    let start = "<script type=\"application/json\" id=\"timeline-data\">";
    let from = html.find(start).unwrap() + start.len();
    let timeline: Value =
        serde_json::from_str(&html[from..from + html[from..].find("</script>").unwrap()]).unwrap();
    let stw = &json["scheduler"]["stop_the_world"];
    let pauses = timeline["pauses"].as_array().unwrap();
    // The pauses with both ends, as the report's section counts and sums them.
    let complete = stw["count"].as_u64().unwrap() - stw["incomplete"].as_u64().unwrap();
    assert!(complete >= 5, "{stw}");
    assert_eq!(pauses.len() as u64, complete);
    let total: u64 = pauses.iter().map(|p| p[1].as_u64().unwrap()).sum();
    assert_eq!(total, stw["total_ns"].as_u64().unwrap());
    // Drawn (some may share a pixel column, each is one band).
    assert_eq!(dom.matches("class=\"stw\"").count() as u64, complete);
    assert!(dom.contains(&format!("Red bands: the {complete} stop-the-world pauses.")));
}

#[test]
#[ignore = "needs root: records the sched fixture with BPF"]
fn html_report_of_the_monitor_level_says_what_it_did_not_capture() {
    testsupport::require_root();
    let rec = record("producer", "monitor");
    let (dom, json, paths) = check_page(&rec);
    assert_eq!(json["sched_latency"]["captured"], false);
    // Not captured: said, and none of the (meaningless) numbers shown.
    assert!(
        dom.contains("Not captured: the monitor tracer level does not capture goroutine readies")
    );
    assert!(dom.contains("Not captured: P rows"));
    assert!(
        !paths.iter().any(|p| p.starts_with("sched_latency.")),
        "{paths:?}"
    );
    assert!(!paths.iter().any(|p| p.starts_with("goroutines.created")));
    // No rows drawn from what was not captured (without context switches the timeline's
    // thread slices only say a thread existed).
    assert_eq!(dom.matches("class=\"track p\"").count(), 0);
    assert_eq!(dom.matches("class=\"track thread\"").count(), 0);
    assert!(!paths
        .iter()
        .any(|p| p.ends_with("on_cpu_ns") || p.ends_with("wakeups")));
    // What the monitor level does capture is there, with the goroutines from the snapshots.
    assert!(paths.iter().any(|p| p == "scheduler.gomaxprocs.last"));
    assert!(paths.iter().any(|p| p == "threads.per_thread.0.tid"));
    // (The rows are there when the last snapshot was read before the target exited.)
    assert!(paths.iter().any(|p| p == "goroutines.live_at_end"));
    let rows = |list: &str| json["goroutines"][list].as_array().map_or(0, Vec::len);
    assert_eq!(
        rows("live") > 0,
        paths.iter().any(|p| p == "goroutines.live.0.goid")
    );
    assert_eq!(
        rows("by_creation_site") > 0,
        paths
            .iter()
            .any(|p| p == "goroutines.by_creation_site.0.live_at_end")
    );
    if rows("by_creation_site") > 0 {
        assert!(dom.contains("Not captured: creations and exits: the monitor tracer level"));
        assert!(dom.contains("aria-label=\"goroutines live at the end by creation site\""));
    }
}

/// The HTML of the view `<section ... id="s-{id}">` in `dom` (the views hold no nested section).
fn view_section<'a>(dom: &'a str, id: &str) -> &'a str {
    let from = dom
        .find(&format!("id=\"s-{id}\""))
        .unwrap_or_else(|| panic!("no section {id}"));
    let to = from + dom[from..].find("</section>").expect("section end");
    &dom[from..to]
}

/// Measures every stacked bar's segments as laid out, from a script added to a copy of the
/// page: (bar index, `data-share`, rendered width / bar width, rendered width in px).
const MEASURE_STACKS: &str = r#"(function () {
  var out = [];
  document.querySelectorAll('.stack').forEach(function (bar, i) {
    var w = bar.clientWidth; // inside its border, where the segments are laid out
    bar.querySelectorAll('.seg').forEach(function (seg) {
      var sw = seg.getBoundingClientRect().width;
      out.push([i, Number(seg.getAttribute('data-share')), w > 0 ? sw / w : -1, w]);
    });
  });
  var pre = document.createElement('pre');
  pre.id = 'stack-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();"#;

fn measured_stacks(page: &Path) -> Vec<(u64, f64, f64, f64)> {
    let html = std::fs::read_to_string(page).unwrap();
    let copy = page.with_extension("stacks.html");
    std::fs::write(
        &copy,
        html.replace(
            "</body>",
            &format!("<script>{MEASURE_STACKS}</script></body>"),
        ),
    )
    .unwrap();
    let dom = dump_dom(&copy);
    let from = dom
        .find("<pre id=\"stack-result\">")
        .expect("the script's result")
        + "<pre id=\"stack-result\">".len();
    let text = &dom[from..from + dom[from..].find("</pre>").unwrap()];
    serde_json::from_str(text).unwrap()
}

/// The default level's views of the sampled latency and of the latency attribution show the
/// report's numbers: percentiles with their intervals and sample count beside the runtime's
/// own /sched/latencies, the waiting tables, and the causes as stacked bars drawn to their
/// shares (measured in Chromium) with how each was measured.
#[test]
#[ignore = "needs root: records the sched fixture with BPF"]
fn html_views_of_sampled_latency_and_attribution_show_the_report() {
    testsupport::require_root();
    // Longer than a second, so that the runtime's statistics are read twice (their window is
    // the one beside the estimates): the doctor fixture's pool of workers for 2.5 s.
    let rec = record_fixture(
        "export_html",
        "doctor",
        &["-scenario", "pool", "-d", "2500ms"],
        "default",
    );
    let (dom, json, paths) = check_page(&rec);
    let shown = |p: &str| paths.iter().any(|x| x == p);
    let in_view = |view: &str, p: &str| {
        view.contains(&format!(
            "data-metric=\"{p}\" data-value=\"{}\"",
            at(&json, p).unwrap()
        ))
    };

    let s = &json["sched_latency_sampled"];
    assert_ne!(s["captured"], false, "no samples at the default level: {s}");
    assert!(s["samples"].as_u64().unwrap() > 0);
    let view = view_section(&dom, "sched_latency_sampled");
    for q in ["p50", "p90", "p99"] {
        for k in ["value_ns", "ci_low_ns", "ci_high_ns"] {
            let p = format!("sched_latency_sampled.latency.{q}.{k}");
            assert!(in_view(view, &p), "{p} not in the sampled view");
        }
    }
    for p in [
        "sched_latency_sampled.samples",
        "sched_latency_sampled.latency.max_ns",
    ] {
        assert!(in_view(view, p), "{p} not in the sampled view");
    }
    for list in ["by_site", "by_start", "by_stack"] {
        let rows = s[list].as_array().unwrap();
        assert!(!rows.is_empty(), "{list} empty");
        for i in 0..rows.len() {
            for k in [
                "samples",
                "total_wait_ns",
                "share_of_waiting",
                "sample_share_ci.0",
            ] {
                let p = format!("sched_latency_sampled.{list}.{i}.{k}");
                assert!(in_view(view, &p), "{p} not in the sampled view");
            }
        }
    }
    assert!(view.matches("class=\"rows sortable\"").count() >= 4);
    // The runtime's own histogram over the same window, beside the estimates.
    let hists = json["runtime_metrics"]["histograms"].as_array().unwrap();
    let i = hists
        .iter()
        .position(|h| h["name"] == "/sched/latencies:seconds")
        .expect("the runtime's /sched/latencies read");
    for q in ["p50_ns", "p90_ns", "p99_ns", "count"] {
        let p = format!("runtime_metrics.histograms.{i}.window.{q}");
        assert!(in_view(view, &p), "{p} not beside the estimates");
    }
    let buckets = hists[i]["window"]["buckets"].as_array().unwrap();
    for j in 0..buckets.len() {
        let p = format!("runtime_metrics.histograms.{i}.window.buckets.{j}.count");
        assert!(in_view(view, &p), "{p}: a bucket not drawn");
    }

    let a = &json["latency_attribution"];
    assert_eq!(a["basis"], "samples", "{a}");
    let view = view_section(&dom, "latency_attribution");
    assert!(view.contains("data-basis=\"samples\""));
    for p in ["latency_attribution.waits", "latency_attribution.total_ns"] {
        assert!(in_view(view, p), "{p}");
    }
    let total = a["total_ns"].as_u64().unwrap();
    for (cause, ns) in a["causes"].as_object().unwrap() {
        let p = format!("latency_attribution.causes.{cause}");
        assert!(in_view(view, &p), "{p}");
        // The total bar's segment: its share of the total.
        let seg = view
            .split("<span class=\"seg ")
            .find(|t| t.contains(&format!("data-metric=\"{p}\"")))
            .unwrap_or_else(|| panic!("no segment for {p}"));
        let share: f64 = seg
            .split("data-share=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let want = ns.as_u64().unwrap() as f64 / total as f64;
        assert!(
            (share - want).abs() < 1e-9,
            "{p}: share {share}, want {want}"
        );
    }
    for e in a["exactness"].as_array().unwrap() {
        let row = view
            .split("<tr data-cause=\"")
            .find(|t| t.starts_with(&format!("{}\"", e["cause"].as_str().unwrap())))
            .unwrap_or_else(|| panic!("no row for {e}"));
        assert!(
            row.contains(&format!("data-exact=\"{}\"", e["exact"])),
            "{row}"
        );
    }
    let sites = a["by_site"].as_array().unwrap();
    assert!(!sites.is_empty());
    for i in 0..sites.len() {
        for k in [
            "waits",
            "total_ns",
            "causes.stw_ns",
            "causes.kernel_ns",
            "causes.syscall_ns",
            "causes.ps_busy_ns",
            "causes.other_ns",
        ] {
            let p = format!("latency_attribution.by_site.{i}.{k}");
            assert!(in_view(view, &p), "{p}");
        }
    }
    // As laid out: the bars (the total, then one per site) are drawn to their shares.
    let measured = measured_stacks(&rec.with_extension("html"));
    let bars: std::collections::BTreeSet<u64> = measured.iter().map(|m| m.0).collect();
    assert_eq!(bars.len(), 1 + sites.len(), "{measured:?}");
    for (bar, share, drawn, width) in &measured {
        assert!(*width > 100.0, "bar {bar} is {width} px wide");
        // Within a pixel (sub-pixel layout rounds).
        assert!(
            (share - drawn).abs() * width <= 1.0,
            "bar {bar}: share {share}, drawn {drawn} of {width} px"
        );
    }
    assert!(shown("latency_attribution.causes.ps_busy_ns"));
}

/// What a page names from the program, made of everything HTML and scripts treat specially.
const EVIL: &str = "main.(*T[go.shape.string])</script><script>goroscopeError('injected')</script>\
                    <img src=x onerror=\"goroscopeError('img')\">&amp;'\"\u{2028}";

#[test]
fn names_with_markup_are_shown_as_text() {
    let json = serde_json::json!({
        "version": 1,
        "go_version": "go1.27.3",
        "start_ns": 1000,
        "duration_ns": 5000,
        "goroutines": {
            "created": 1, "exited": 0, "live_at_end": 1,
            "by_creation_site": [{"function": EVIL, "file": EVIL, "line": 7,
                                  "created": 1, "exited": 0, "live_at_end": 1}],
        },
        "threads": {"max_live": 1, "per_thread": [{"tid": 9, "m_id": 0, "origin": EVIL,
                                                    "on_cpu_ns": 3000, "off_cpu_ns": 2000}]},
        "recording": {"target": {"path": format!("/tmp/{EVIL}")}, "level": EVIL,
                      "warnings": [EVIL]},
    });
    let overview = OverviewData {
        duration_ns: 5000,
        bin_ns: 1000,
        bins: 5,
        tracks: vec![TrackData {
            kind: "p",
            id: 0,
            label: "P0".into(),
            busy_ns: 3000,
            slices: 1,
            bins: vec![0, 1000, 1000, 1000, 0],
        }],
        ps_omitted: 0,
        threads_omitted: 0,
        slices_seen: 1,
        max_slices: 10,
        slices: Some(vec![[0, 1000, 3000, 5, 0]]),
        functions: vec![EVIL.into()],
        goroutines: [(5, 0)].into_iter().collect(),
        pauses_seen: 1,
        max_pauses: 10,
        pauses: Some(vec![[2000, 500, 0]]),
        pause_reasons: vec![EVIL.into()],
    };
    let text = serde_json::to_string_pretty(&json).unwrap();
    let html = goroscope_export::html::render(&text, &overview).unwrap();
    no_network_references(&html);
    assert_eq!(embedded_json(&html), json);
    assert!(!html.contains("<img"), "raw markup in the page");
    let page = testsupport::scratch_path("export_html", "evil.html");
    std::fs::write(&page, &html).unwrap();
    let dom = dump_dom(&page);
    assert!(
        !dom.contains("<img"),
        "markup from a name became an element"
    );
    // Shown as text, escaped back by the DOM's serialiser (in the table, the chart's tooltip
    // and the timeline's slice tooltip drawn by the script).
    let shown = "main.(*T[go.shape.string])&lt;/script&gt;&lt;script&gt;goroscopeError('injected')";
    assert!(
        dom.matches(shown).count() >= 4,
        "{}",
        dom.matches(shown).count()
    );
    assert!(dom.contains("G5 main.(*T[go.shape.string])&lt;/script&gt;"));
    assert!(dom.contains("stop-the-world (main.(*T[go.shape.string])&lt;/script&gt;"));
    numbers_equal_the_report(&dom, &json);
}

/// A small complete recording with no events of interest (as tests/bad_input.rs makes).
fn synthetic_recording() -> Vec<u8> {
    let header = Header {
        goroscope_version: "0.1.0".into(),
        target: Target {
            path: "/bin/prog".into(),
            pid: 42,
            mode: "launch".into(),
            go_version: "go1.27.3".into(),
            ..Default::default()
        },
        clock: ClockBase {
            monotonic_ns: 1_000,
            realtime_ns: 2,
        },
        level: "default".into(),
        ..Default::default()
    };
    let events: Vec<Event> = (0..4)
        .map(|i| Event {
            ts_ns: 1_000 + i * 10,
            cpu: 0,
            tid: 7,
            kind: EventKind::ThreadExit,
        })
        .collect();
    let mut w = ChunkWriter::new(Vec::new(), &header).unwrap();
    w.write_events(&events).unwrap();
    w.write_end(&EndRecord {
        ts_ns: 2_000,
        reason: "duration".into(),
        events: 4,
        ..Default::default()
    })
    .unwrap();
    w.into_inner()
}

/// Files in `dir` whose name contains `stem`.
fn leftovers(dir: &Path, stem: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(stem))
        .collect()
}

fn fails(args: &[&str], code: i32, fragment: &str) {
    let out = goroscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(
        stderr.contains(fragment),
        "{args:?}: no {fragment:?} in {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_inputs_fail_clearly_and_leave_nothing() {
    let dir = testsupport::scratch_path("export_html", "bad");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.rec");
    let recording = synthetic_recording();
    std::fs::write(&good, &recording).unwrap();
    let out = dir.join("out.html");

    // A recording that reads: a page (and the CLI path works without root).
    report_html(&good, &out);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with(
        "<!doctype html>\n<html lang=\"en\"><head><meta name=\"generator\" content=\"goroscope"
    ));
    // Written over by the next page (it is goroscope's), without --force.
    report_html(&good, &out);
    std::fs::remove_file(&out).unwrap();

    let not_rec = dir.join("not-a-recording.rec");
    std::fs::write(&not_rec, b"this is not a recording at all").unwrap();
    let cut = dir.join("cut-header.rec");
    std::fs::write(&cut, &recording[..12]).unwrap();
    let mut corrupt = recording.clone();
    corrupt[..4].copy_from_slice(b"XXXX");
    let corrupt_rec = dir.join("corrupt.rec");
    std::fs::write(&corrupt_rec, &corrupt).unwrap();
    for (rec, says) in [
        (&not_rec, "not a goroscope recording"),
        (&cut, "truncated recording"),
        (&corrupt_rec, "not a goroscope recording"),
    ] {
        fails(&["report", s(rec), "--html", "-o", s(&out)], 1, says);
        assert_eq!(leftovers(&dir, "out.html"), Vec::<String>::new(), "{rec:?}");
    }
    fails(
        &[
            "report",
            s(&good),
            "--html",
            "-o",
            "/nonexistent-dir/r.html",
        ],
        1,
        "cannot write the HTML report to /nonexistent-dir/r.html",
    );
    fails(
        &["report", s(&good), "--html", "-o", s(&dir)],
        1,
        "is a directory",
    );
    // Someone's file is kept, unless --force.
    let theirs = dir.join("notes.html");
    std::fs::write(&theirs, "<p>my notes</p>").unwrap();
    fails(
        &["report", s(&good), "--html", "-o", s(&theirs)],
        1,
        "add --force",
    );
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "<p>my notes</p>");
    let o = goroscope(&["report", s(&good), "--html", "-o", s(&theirs), "--force"]);
    assert!(o.status.success());
    // The recording itself, never.
    fails(
        &["report", s(&good), "--html", "-o", s(&good), "--force"],
        1,
        "the recording being exported",
    );
    assert_eq!(std::fs::read(&good).unwrap(), recording);
    // --html needs -o, and -o means --html.
    fails(&["report", s(&good), "--html"], 2, "--output");
    fails(&["report", s(&good), "-o", s(&out)], 2, "--html");
    fails(
        &["report", s(&good), "--html", "--json", "-o", s(&out)],
        2,
        "cannot be used with",
    );
    assert_eq!(leftovers(&dir, "out.html"), Vec::<String>::new());
}
