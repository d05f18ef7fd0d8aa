//! Charts of the zmstat CSV files (`zmstat-chart`, `zmstat-chart-config`): each numeric
//! column of each `*.csv` in a source directory becomes one line chart (inline SVG) in
//! an `index.html` written to a destination directory, with a summary table of minimum,
//! maximum, average and last value. A time window (`--start-at`, `--end-at`, in the CSV
//! timestamp format `MM/dd/yyyy HH:mm:ss`) limits the rows charted. The chart
//! configuration (`conf/zmstat-chart.xml`) lists the charts the current files give.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use chrono::NaiveDateTime;

/// The CSV timestamp format zmstat writes (and the window options take).
pub const TIME_FORMAT: &str = "%m/%d/%Y %H:%M:%S";

/// One column's samples: (time, value) in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub file: String,
    pub column: String,
    pub points: Vec<(NaiveDateTime, f64)>,
}

/// Which rows to chart and how the page reads.
#[derive(Clone, Debug, Default)]
pub struct ChartOptions {
    pub title: Option<String>,
    pub start_at: Option<NaiveDateTime>,
    pub end_at: Option<NaiveDateTime>,
    pub no_summary: bool,
}

/// Parses a window bound in [`TIME_FORMAT`].
///
/// # Errors
/// The text is not such a time.
pub fn parse_time(text: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(text.trim(), TIME_FORMAT)
        .map_err(|_| format!("bad time {text:?}: expected MM/dd/yyyy HH:mm:ss"))
}

/// Reads the numeric columns of one CSV text (first line the header, first column the
/// timestamp). Rows whose time does not parse, or outside the window, are skipped;
/// a non-numeric cell drops that point only.
pub fn read_csv(file: &str, text: &str, opts: &ChartOptions) -> Vec<Series> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let names: Vec<String> = header.split(',').map(|h| h.trim().to_string()).collect();
    let mut series: Vec<Series> = names
        .iter()
        .skip(1)
        .map(|c| Series {
            file: file.to_string(),
            column: c.clone(),
            points: Vec::new(),
        })
        .collect();
    for line in lines {
        let mut cells = line.split(',').map(str::trim);
        let Some(Ok(t)) = cells.next().map(parse_time) else {
            continue;
        };
        if opts.start_at.is_some_and(|s| t < s) || opts.end_at.is_some_and(|e| t > e) {
            continue;
        }
        for (s, cell) in series.iter_mut().zip(cells) {
            if let Ok(v) = cell.parse::<f64>()
                && v.is_finite()
            {
                s.points.push((t, v));
            }
        }
    }
    series.retain(|s| !s.points.is_empty());
    series
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One series as an SVG line chart, `w` by `h` pixels.
pub fn svg(series: &Series, w: u32, h: u32) -> String {
    let (w, h) = (f64::from(w), f64::from(h));
    let pad = 30.0;
    let t0 = series.points.first().map(|p| p.0).unwrap_or_default();
    let t1 = series.points.last().map(|p| p.0).unwrap_or_default();
    let span = (t1 - t0).num_seconds().max(1) as f64;
    let min = series
        .points
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min);
    let max = series
        .points
        .iter()
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let range = if max > min { max - min } else { 1.0 };
    let mut path = String::new();
    for (t, v) in &series.points {
        let x = pad + (*t - t0).num_seconds() as f64 / span * (w - 2.0 * pad);
        let y = h - pad - (v - min) / range * (h - 2.0 * pad);
        let _ = write!(path, "{x:.1},{y:.1} ");
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\">\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\" stroke=\"#ccc\"/>\
         <text x=\"{pad}\" y=\"18\" font-size=\"12\">{title}</text>\
         <text x=\"2\" y=\"{ymax}\" font-size=\"10\">{max}</text>\
         <text x=\"2\" y=\"{ymin}\" font-size=\"10\">{min}</text>\
         <polyline fill=\"none\" stroke=\"#2266aa\" stroke-width=\"1.5\" points=\"{path}\"/>\
         </svg>",
        title = escape(&format!("{}: {}", series.file, series.column)),
        ymax = pad + 4.0,
        ymin = h - pad,
        path = path.trim_end(),
    )
}

/// The HTML page of every series: charts, then the summary table unless turned off.
pub fn page(series: &[Series], opts: &ChartOptions) -> String {
    let title = escape(opts.title.as_deref().unwrap_or("zmstat charts"));
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>\n"
    );
    for s in series {
        out.push_str(&svg(s, 640, 200));
        out.push('\n');
    }
    if !opts.no_summary {
        out.push_str(
            "<h2>Summary</h2><table border=\"1\"><tr><th>file</th><th>column</th>\
             <th>min</th><th>max</th><th>avg</th><th>last</th></tr>\n",
        );
        for s in series {
            let n = s.points.len() as f64;
            let min = s.points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let max = s
                .points
                .iter()
                .map(|p| p.1)
                .fold(f64::NEG_INFINITY, f64::max);
            let avg = s.points.iter().map(|p| p.1).sum::<f64>() / n;
            let last = s.points.last().map(|p| p.1).unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{min}</td><td>{max}</td><td>{avg:.2}</td>\
                 <td>{last}</td></tr>",
                escape(&s.file),
                escape(&s.column)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

/// Every series of the `*.csv` files directly in `src`, files in name order.
///
/// # Errors
/// `src` cannot be listed.
pub fn read_dir(src: &Path, opts: &ChartOptions) -> Result<Vec<Series>, String> {
    let mut files: Vec<_> = fs::read_dir(src)
        .map_err(|e| format!("{}: {e}", src.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Ok(text) = fs::read_to_string(&f) {
            out.extend(read_csv(&name, &text, opts));
        }
    }
    Ok(out)
}

/// Writes `dest/index.html` for the CSV files of `src`; returns how many charts.
///
/// # Errors
/// `src` cannot be read or `dest` written.
pub fn chart(src: &Path, dest: &Path, opts: &ChartOptions) -> Result<usize, String> {
    let series = read_dir(src, opts)?;
    fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let index = dest.join("index.html");
    fs::write(&index, page(&series, opts)).map_err(|e| format!("{}: {e}", index.display()))?;
    Ok(series.len())
}

/// The chart configuration for the CSV files of `src` (Zimbra's `zmstat-chart.xml`
/// shape: one `<chart>` per column, naming its file and column).
///
/// # Errors
/// `src` cannot be read.
pub fn config_xml(src: &Path) -> Result<String, String> {
    let series = read_dir(src, &ChartOptions::default())?;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<charts>\n");
    for s in &series {
        let _ = writeln!(
            out,
            "  <chart title=\"{f}: {c}\" outfile=\"{stem}-{c}\">\n    \
             <plot data=\"{c}\" infile=\"{f}\"/>\n  </chart>",
            f = escape(&s.file),
            c = escape(&s.column),
            stem = escape(s.file.trim_end_matches(".csv")),
        );
    }
    out.push_str("</charts>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CSV: &str = "timestamp, imap_conn, note\n\
        12/04/2026 10:00:00, 1, x\n\
        12/04/2026 10:00:30, 4, y\n\
        bad line\n\
        12/04/2026 10:01:00, 2, z\n";

    #[test]
    fn numeric_columns_become_series_and_the_window_applies() {
        let all = read_csv("mailboxd.csv", CSV, &ChartOptions::default());
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].column, "imap_conn");
        assert_eq!(all[0].points.len(), 3);
        let opts = ChartOptions {
            start_at: Some(parse_time("12/04/2026 10:00:15").expect("time")),
            ..ChartOptions::default()
        };
        assert_eq!(read_csv("m.csv", CSV, &opts)[0].points.len(), 2);
    }

    #[test]
    fn the_page_has_a_chart_and_a_summary() {
        let series = read_csv("mailboxd.csv", CSV, &ChartOptions::default());
        let html = page(&series, &ChartOptions::default());
        assert!(html.contains("<svg") && html.contains("mailboxd.csv: imap_conn"));
        assert!(html.contains("<td>1</td><td>4</td>"));
        let bare = page(
            &series,
            &ChartOptions {
                no_summary: true,
                ..ChartOptions::default()
            },
        );
        assert!(!bare.contains("Summary"));
    }

    proptest! {
        #[test]
        fn any_csv_text_charts_without_panicking(text in ".{0,400}") {
            let s = read_csv("f.csv", &text, &ChartOptions::default());
            let _ = page(&s, &ChartOptions::default());
        }
    }
}
