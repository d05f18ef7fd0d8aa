//! Auto-grouped backups (`zimbraBackupMode: Auto-Grouped`, spec 04 §1.6): each run is a
//! full backup of one group of mailboxes, so that every mailbox is backed up at least
//! once per cycle of `zimbraBackupAutoGroupedNumGroups` runs
//! `zimbraBackupAutoGroupedInterval` apart.
//!
//! Each run takes, in this order: the mailboxes never backed up; those whose last full
//! backup would be older than the cycle by the next run (last backup more than
//! N - 1 intervals ago); then the least recently backed up others, until the run
//! holds about 1/N of all mailboxes. With `zimbraBackupAutoGroupedThrottled` the run is
//! capped at 1/N (rounded up) even when more are due, new and overdue ones first (for
//! catching up after a migration).

use crate::error::BackupError;

/// The auto-grouped settings of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoGrouped {
    /// `zimbraBackupAutoGroupedNumGroups` (at least 1).
    pub groups: u32,
    /// `zimbraBackupAutoGroupedInterval`, in ms.
    pub interval_ms: i64,
    /// `zimbraBackupAutoGroupedThrottled`.
    pub throttled: bool,
}

impl Default for AutoGrouped {
    /// Zimbra's defaults: 7 groups, one day apart, not throttled.
    fn default() -> Self {
        AutoGrouped {
            groups: 7,
            interval_ms: DAY_MS,
            throttled: false,
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// Parses `zimbraBackupAutoGroupedInterval`: `Nd` or `Nw`, N at least 1 (a bare
/// number counts as days).
///
/// # Errors
/// [`BackupError::Invalid`] naming the value.
pub fn parse_interval(text: &str) -> Result<i64, BackupError> {
    let t = text.trim().to_ascii_lowercase();
    let (num, unit) = match t.strip_suffix('w') {
        Some(n) => (n, 7 * DAY_MS),
        None => (t.strip_suffix('d').unwrap_or(&t), DAY_MS),
    };
    match num.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n.saturating_mul(unit)),
        _ => Err(BackupError::Invalid(format!(
            "zimbraBackupAutoGroupedInterval {text:?}: must be Nd or Nw, N at least 1"
        ))),
    }
}

/// One mailbox to place: its id and when its last full backup ended (`None`: never).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The account's `zimbraId`.
    pub id: String,
    /// End of its last full backup, ms since the epoch.
    pub last_full_ms: Option<i64>,
}

/// The accounts this run backs up, in backup order, among `all` at time `now_ms`.
pub fn select(all: &[Candidate], policy: &AutoGrouped, now_ms: i64) -> Vec<String> {
    let groups = policy.groups.max(1) as usize;
    let share = all.len().div_ceil(groups).max(1);
    let horizon = now_ms.saturating_sub(
        policy
            .interval_ms
            .saturating_mul(groups.saturating_sub(1) as i64),
    );
    let mut order: Vec<&Candidate> = all.iter().collect();
    // Never backed up first, then the oldest backup first; ties by id, so runs are
    // reproducible.
    order.sort_by(|a, b| {
        let key = |c: &Candidate| c.last_full_ms.unwrap_or(i64::MIN);
        key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
    });
    let due = order
        .iter()
        .take_while(|c| c.last_full_ms.is_none_or(|t| t < horizon))
        .count();
    let take = if policy.throttled {
        share.min(order.len())
    } else {
        due.max(share).min(order.len())
    };
    order.into_iter().take(take).map(|c| c.id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(state: &mut [Candidate], policy: &AutoGrouped, now: i64) -> usize {
        let picked = select(state, policy, now);
        for c in state.iter_mut() {
            if picked.contains(&c.id) {
                c.last_full_ms = Some(now);
            }
        }
        picked.len()
    }

    fn mailboxes(n: usize) -> Vec<Candidate> {
        (0..n)
            .map(|i| Candidate {
                id: format!("m{i:04}"),
                last_full_ms: None,
            })
            .collect()
    }

    #[test]
    fn seventy_mailboxes_in_seven_groups_stay_within_the_cycle() {
        let policy = AutoGrouped::default();
        let mut state = mailboxes(70);
        assert_eq!(run(&mut state, &policy, 0), 70);
        for day in 1..=21 {
            let now = day * DAY_MS;
            let n = run(&mut state, &policy, now);
            assert!((10..=11).contains(&n), "day {day}: {n}");
            let oldest = state.iter().filter_map(|c| c.last_full_ms).min().unwrap();
            assert!(now - oldest <= 7 * DAY_MS, "day {day}");
        }
        // A new mailbox is taken at the next run, first.
        state.push(Candidate {
            id: "zzz-new".into(),
            last_full_ms: None,
        });
        let picked = select(&state, &policy, 22 * DAY_MS);
        assert_eq!(picked[0], "zzz-new");
    }

    #[test]
    fn throttled_runs_take_at_most_a_share() {
        let policy = AutoGrouped {
            throttled: true,
            ..AutoGrouped::default()
        };
        let mut state = mailboxes(700);
        assert_eq!(run(&mut state, &policy, 0), 100);
        assert_eq!(run(&mut state, &policy, DAY_MS), 100);
        // The ones backed up are not taken again while new ones wait.
        assert_eq!(
            state.iter().filter(|c| c.last_full_ms.is_some()).count(),
            200
        );
        let unthrottled = select(&state, &AutoGrouped::default(), 2 * DAY_MS);
        assert_eq!(unthrottled.len(), 500);
    }

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("1d").unwrap(), DAY_MS);
        assert_eq!(parse_interval("2w").unwrap(), 14 * DAY_MS);
        assert_eq!(parse_interval("3").unwrap(), 3 * DAY_MS);
        for bad in ["0d", "w", "-1d", "1h", ""] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_interval_parser_never_panics(s in ".{0,10}") {
            let _ = parse_interval(&s);
        }

        #[test]
        fn a_run_never_takes_more_than_all_or_less_than_a_share(
            n in 0usize..200, groups in 1u32..20, backed in 0usize..200, throttled: bool,
        ) {
            let mut state = mailboxes(n);
            for c in state.iter_mut().take(backed) {
                c.last_full_ms = Some(0);
            }
            let policy = AutoGrouped { groups, interval_ms: DAY_MS, throttled };
            let picked = select(&state, &policy, DAY_MS);
            proptest::prop_assert!(picked.len() <= n);
            proptest::prop_assert!(picked.len() >= n.div_ceil(groups as usize).min(n));
        }
    }
}
