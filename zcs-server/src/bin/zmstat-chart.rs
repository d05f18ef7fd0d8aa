//! `zmstat-chart`: charts the zmstat CSV files of a directory as an HTML page of line
//! charts with a summary table (see `zcs_server::zmstat_chart`).

use std::path::PathBuf;
use std::process::ExitCode;

use zcs_server::zmstat_chart::{ChartOptions, chart, parse_time};

const USAGE: &str = "usage: zmstat-chart -s <srcdir> -d <destdir> [--start-at TIME] \
[--end-at TIME] [--aggregate-start-at TIME] [--aggregate-end-at TIME] [--title TEXT] \
[--no-summary] [-c conf]
  TIME is MM/dd/yyyy HH:mm:ss; -s defaults to the home's log/zmstat";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("zmstat-chart: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let mut src: Option<PathBuf> = None;
    let mut dest: Option<PathBuf> = None;
    let mut opts = ChartOptions::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "-s" | "--srcdir" => src = Some(value()?.into()),
            "-d" | "--destdir" => dest = Some(value()?.into()),
            "--start-at" | "--aggregate-start-at" => opts.start_at = Some(parse_time(&value()?)?),
            "--end-at" | "--aggregate-end-at" => opts.end_at = Some(parse_time(&value()?)?),
            "--title" => opts.title = Some(value()?),
            "--no-summary" => opts.no_summary = true,
            // The chart list is derived from the files; a conf file is accepted.
            "-c" | "--conf" => {
                value()?;
            }
            "-h" | "--help" => return Ok(USAGE.to_string()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let src = match src {
        Some(s) => s,
        None => zcs_server::home::Home::from_env()
            .map_err(|e| e.to_string())?
            .log()
            .join("zmstat"),
    };
    let dest = dest.ok_or(format!("-d is required\n{USAGE}"))?;
    let n = chart(&src, &dest, &opts)?;
    Ok(format!(
        "{n} charts written to {}",
        dest.join("index.html").display()
    ))
}
