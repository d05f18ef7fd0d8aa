//! Progress of a long command: a bar on a terminal (indicatif), one quiet line per step
//! otherwise (logs, cron), so output stays readable in `zmbackup.log`.

use std::io::IsTerminal;

/// Reports steps of a known count.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    what: String,
    total: u64,
    done: u64,
    quiet: bool,
}

impl Progress {
    /// A reporter for `total` steps of `what`; a bar when stderr is a terminal and
    /// `quiet` is false, lines on stderr when it is not, nothing when `quiet`.
    pub fn new(what: &str, total: u64, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
            {
                bar.set_style(style);
            }
            bar.set_message(what.to_string());
            bar
        });
        Progress {
            bar,
            what: what.to_string(),
            total,
            done: 0,
            quiet,
        }
    }

    /// One step done; `item` names it (an account name, never message content).
    pub fn step(&mut self, item: &str) {
        self.done += 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if !self.quiet => {
                eprintln!("{}: {}/{} {item}", self.what, self.done, self.total)
            }
            None => {}
        }
    }

    /// Ends the bar (no-op for lines).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
