//! `zmblobchk [options] start`: checks the blobs of this zcs home against the item
//! metadata (missing blobs, size or digest mismatch, blobs no item references).
//!
//! The check only reads and may run beside the server; it reads the item metadata from
//! whichever engine holds it (`zcs_store_url`). `--missing-blob-delete-item`
//! deletes items through the store (and its redo log), which needs the server stopped:
//! the tool then opens the store itself and says so when the server holds it.
//! `--unused-blob-delete` (a zcs addition, server stopped too) removes the blobs no item,
//! dumpster item or revision references, as the server's orphan sweep does but without
//! its grace period: what a crash left between a blob write and its redo record.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;

use zcs_core::{ItemId, ZimbraId};
use zcs_server::home::Home;
use zcs_server::hsm_job::{self, StoreTarget};
use zcs_server::localconfig::LocalConfig;
use zcs_store::blobchk::{self, BlobChkReport, Problem};
use zcs_store::{StoreError, VolumeBlobStore};

const USAGE: &str = "usage: zmblobchk [options] start
  -m --mailboxes <ids>          comma-separated mailbox ids (default all)
     --missing-blob-delete-item delete items whose blob is missing (server stopped)
     --export-dir <path>        where rows of deleted items are written first
     --no-export                delete without exporting
     --skip-size-check          report missing blobs only
     --unexpected-blob-list <p> write the paths of unreferenced blobs to a file
     --unused-blob-delete       delete unreferenced blobs (server stopped)
     --volumes <ids>            report only blobs on these volumes
  -v --verbose                  accepted";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("start runtime: {e}")),
    };
    match rt.block_on(run(&args)) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &str) -> ExitCode {
    eprintln!("zmblobchk: {e}");
    ExitCode::from(1)
}

#[derive(Default)]
struct Opts {
    start: bool,
    mailboxes: Option<Vec<i64>>,
    delete_items: bool,
    export_dir: Option<PathBuf>,
    no_export: bool,
    skip_size: bool,
    blob_list: Option<PathBuf>,
    volumes: Option<Vec<i64>>,
    delete_unused: bool,
}

fn ids(v: &str) -> Result<Vec<i64>, String> {
    v.split(',')
        .map(|s| s.trim().parse().map_err(|_| format!("bad id {s:?}")))
        .collect()
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "start" => o.start = true,
            "-m" | "--mailboxes" => o.mailboxes = Some(ids(&value()?)?),
            "--missing-blob-delete-item" => o.delete_items = true,
            "--export-dir" => o.export_dir = Some(PathBuf::from(value()?)),
            "--no-export" => o.no_export = true,
            "--skip-size-check" => o.skip_size = true,
            "--unexpected-blob-list" => o.blob_list = Some(PathBuf::from(value()?)),
            "--volumes" => o.volumes = Some(ids(&value()?)?),
            "--unused-blob-delete" => o.delete_unused = true,
            "-v" | "--verbose" => {}
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if !o.start {
        return Err(format!("`start` is required\n{USAGE}"));
    }
    if o.delete_items && o.export_dir.is_none() && !o.no_export {
        return Err("--missing-blob-delete-item needs --export-dir or --no-export".into());
    }
    Ok(o)
}

async fn run(args: &[String]) -> Result<String, String> {
    let o = parse(args)?;
    let home = Home::from_env().map_err(|e| e.to_string())?;
    let lc = LocalConfig::load(&home).map_err(|e| format!("load local config: {e}"))?;
    let cfg = hsm_job::store_config(&home, &lc);
    let e = |e: StoreError| e.to_string();
    let (db, _volumes) = cfg.open_volumes().await?;
    let blobs = Arc::new(VolumeBlobStore::open(&cfg.db_path).map_err(e)?);
    let report = blobchk::check_on(&db, &blobs, o.mailboxes.as_deref(), !o.skip_size).await;
    let accounts = blobchk::mailbox_accounts_on(&db).await;
    db.close().await;
    let mut report = report.map_err(e)?;
    filter(&mut report, &o);
    let mut out = report.render();

    if let Some(path) = &o.blob_list {
        let text: String = report
            .unused
            .iter()
            .map(|u| format!("{}\n", u.location.path.display()))
            .collect();
        std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    if o.delete_items {
        let accounts: HashMap<i64, String> = accounts.map_err(e)?.into_iter().collect();
        out.push_str(&delete_missing(&cfg, &accounts, &report, &o).await?);
    }
    if o.delete_unused {
        out.push_str(&delete_unused(&cfg).await?);
    }
    Ok(out)
}

/// Opens the store (the server must be stopped) for a repair.
async fn open_for_repair(cfg: &StoreTarget, what: &str) -> Result<zcs_store::Store, String> {
    cfg.open_store().await.map_err(|e| match e {
        StoreError::Locked(_) => format!(
            "the server holds the store: stop it (zmcontrol stop) to {what}, or run \
             without that option"
        ),
        other => format!("open store: {other}"),
    })
}

/// Removes every unreferenced blob at once (no grace period: with the server stopped
/// nothing is being written).
async fn delete_unused(cfg: &StoreTarget) -> Result<String, String> {
    let store = open_for_repair(cfg, "delete unused blobs").await?;
    let swept = store
        .sweep_orphan_blobs_older_than(std::time::Duration::ZERO)
        .await
        .map_err(|e| e.to_string());
    store.close().await;
    let swept = swept?;
    Ok(format!(
        "Deleted {} unused blob(s) of {} examined.\n",
        swept.removed, swept.examined
    ))
}

/// Applies `--skip-size-check` and `--volumes` to a report.
fn filter(report: &mut BlobChkReport, o: &Opts) {
    if o.skip_size {
        report.problems.retain(|p| p.problem == Problem::Missing);
    }
    if let Some(vols) = &o.volumes {
        report.problems.retain(|p| {
            p.location
                .as_ref()
                .is_none_or(|l| vols.contains(&l.volume_id))
        });
        report
            .unused
            .retain(|u| vols.contains(&u.location.volume_id));
    }
}

/// Deletes the items (not dumpster rows or revisions) whose blob is missing, through
/// the store, after writing their rows to `<export-dir>/mailbox<N>.tsv`.
async fn delete_missing(
    cfg: &StoreTarget,
    accounts: &HashMap<i64, String>,
    report: &BlobChkReport,
    o: &Opts,
) -> Result<String, String> {
    let mut by_mailbox: HashMap<i64, Vec<i64>> = HashMap::new();
    for p in &report.problems {
        if p.problem == Problem::Missing && p.blob.table == "item" {
            by_mailbox
                .entry(p.blob.mailbox_id)
                .or_default()
                .push(p.blob.item_id);
        }
    }
    if by_mailbox.is_empty() {
        return Ok(String::new());
    }
    let store = open_for_repair(cfg, "delete items").await?;
    let mut out = String::new();
    let mut ids: Vec<_> = by_mailbox.into_iter().collect();
    ids.sort();
    for (mb, items) in ids {
        if let (Some(dir), false) = (&o.export_dir, o.no_export) {
            std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
            let rows: String = report
                .problems
                .iter()
                .filter(|p| p.blob.mailbox_id == mb && items.contains(&p.blob.item_id))
                .map(|p| {
                    format!(
                        "{}\t{}\t{}\t{}\n",
                        p.blob.item_id, p.blob.revision, p.blob.size, p.blob.digest
                    )
                })
                .collect();
            let file = dir.join(format!("mailbox{mb}.tsv"));
            std::fs::write(&file, rows).map_err(|e| format!("write {}: {e}", file.display()))?;
        }
        let account = accounts
            .get(&mb)
            .and_then(|a| ZimbraId::from_str(a).ok())
            .ok_or_else(|| format!("mailbox {mb} has no account"))?;
        let mbox = store.mailbox(account).await.map_err(|e| e.to_string())?;
        let item_ids: Vec<ItemId> = items.iter().map(|i| ItemId(*i as i32)).collect();
        mbox.delete_items(&item_ids)
            .await
            .map_err(|e| e.to_string())?;
        for i in items {
            out.push_str(&format!("Deleted mailbox {mb}, item {i}.\n"));
        }
    }
    store.close().await;
    Ok(out)
}
