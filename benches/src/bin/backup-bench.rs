//! backup-bench: full backup, incremental and restore speed of `zcs_backup` on a store
//! of N synthetic messages, beside `tar` over the same files on the same disk.
//!
//! Steps: load N messages of about S KiB (distinct bodies, so N blobs) into one
//! mailbox per 1,000 messages; `tar cf` of the store's volume and database (the
//! baseline); a full backup with blobs copied (`--copy`, the fair comparison with tar:
//! a separate backup disk) or hard-linked (the default when the target shares the
//! volume's file system) or packed in zip files (`--zipStore`); an incremental after
//! changing 1% of the messages; a restore of every account into an empty home. Prints
//! MB/s and messages/s for each. A backup session is synced to disk before its catalog
//! is written, so `tar` is also timed followed by a sync of its archive.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use zcs_backup::{BackupOptions, BackupPaths, RestoreOptions};
use zcs_core::{Attrs, EntryKind, Flags, ItemId, folder};
use zcs_directory::{Directory, SqlDirectory};
use zcs_store::{Store, StoreConfig};

#[derive(Parser)]
#[command(about = "Backup and restore throughput")]
struct Args {
    /// Messages to load.
    #[arg(short = 'n', long, default_value_t = 2000)]
    messages: u32,
    /// Approximate message size in KiB.
    #[arg(short = 's', long, default_value_t = 32)]
    size_kib: usize,
    /// Work directory (removed first and at the end); default under target/.
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn message(n: u32, kib: usize) -> Vec<u8> {
    let mut m = format!("From: a{n}@bench.test\r\nSubject: message {n}\r\n\r\n").into_bytes();
    let line = format!("message {n} carries this line of text to fill its body up\r\n");
    while m.len() < kib * 1024 {
        m.extend_from_slice(line.as_bytes());
    }
    m
}

fn du(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

async fn open(root: &Path) -> (BackupPaths, Store, Arc<dyn Directory>) {
    let paths = BackupPaths::for_home(root);
    let store = Store::open(StoreConfig {
        db_path: paths.db.clone(),
        blob_root: paths.store.clone(),
        redo_dir: paths.redolog.clone(),
    })
    .await
    .expect("open store");
    std::fs::create_dir_all(root.join("conf")).expect("conf dir");
    let dir: Arc<dyn Directory> = Arc::new(
        SqlDirectory::open_sqlite(&root.join("conf/directory.db"))
            .await
            .expect("open directory"),
    );
    (paths, store, dir)
}

fn mbs(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let work = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/backup-bench"));
    let _ = std::fs::remove_dir_all(&work);
    let (paths, store, dir) = open(&work.join("a")).await;
    dir.create_entry(EntryKind::Domain, "bench.test", Attrs::new())
        .await
        .expect("domain");
    let t = Instant::now();
    let mut accounts = Vec::new();
    for n in 0..args.messages {
        if n % 1000 == 0 {
            let e = dir
                .create_entry(
                    EntryKind::Account,
                    &format!("u{}@bench.test", n / 1000),
                    Attrs::new(),
                )
                .await
                .expect("account");
            accounts.push(store.mailbox(e.id).await.expect("mailbox"));
        }
        let mb = accounts.last().expect("an account");
        mb.append(
            ItemId(folder::INBOX),
            &message(n, args.size_kib),
            Flags(0),
            1,
        )
        .await
        .expect("append");
    }
    let load = t.elapsed().as_secs_f64();
    let data = du(&paths.store) + du(&paths.db.with_file_name(""));
    println!(
        "load: {} messages, {:.1} MB in {load:.1} s",
        args.messages,
        data as f64 / 1e6
    );

    let tar_file = work.join("baseline.tar");
    let t = Instant::now();
    let ok = std::process::Command::new("tar")
        .arg("cf")
        .arg(&tar_file)
        .arg("-C")
        .arg(work.join("a"))
        .args(["store", "db"])
        .status()
        .is_ok_and(|s| s.success());
    let tar = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&tar_file);
    if ok {
        println!("tar cf (same disk): {tar:.2} s, {:.1} MB/s", mbs(data, tar));
    }
    // The same with the archive synced to disk, as a backup session is before its
    // catalog is written (`sync -f`: syncfs of the archive's file system).
    let t = Instant::now();
    let synced = std::process::Command::new("sh")
        .arg("-c")
        .arg("tar cf \"$1\" -C \"$2\" store db && sync -f \"$1\"")
        .arg("tar-sync")
        .arg(&tar_file)
        .arg(work.join("a"))
        .status()
        .is_ok_and(|s| s.success());
    let tar_sync = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&tar_file);
    if synced {
        println!(
            "tar cf + sync (same disk): {tar_sync:.2} s, {:.1} MB/s",
            mbs(data, tar_sync)
        );
    }

    let quiet = BackupOptions {
        quiet: true,
        ..BackupOptions::default()
    };
    let copy = BackupOptions {
        space_limit: Some(u64::MAX),
        ..quiet.clone()
    };
    let t = Instant::now();
    let full = zcs_backup::full_backup(&paths, &dir, &copy)
        .await
        .expect("full backup");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "full backup, blobs copied: {secs:.2} s, {:.1} MB/s, {:.0} msg/s ({:.0}% of tar, \
         {:.0}% of tar + sync)",
        mbs(data, secs),
        f64::from(args.messages) / secs,
        if ok { 100.0 * tar / secs } else { 0.0 },
        if synced { 100.0 * tar_sync / secs } else { 0.0 }
    );
    let t = Instant::now();
    let zipped = zcs_backup::full_backup(
        &paths,
        &dir,
        &BackupOptions {
            packaging: zcs_backup::BlobPackaging::ZipStore,
            ..copy.clone()
        },
    )
    .await
    .expect("full backup");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "full backup, --zipStore: {secs:.2} s, {:.1} MB/s ({:.0}% of tar)",
        mbs(data, secs),
        if ok { 100.0 * tar / secs } else { 0.0 }
    );
    // Only one copy of the data at a time on the bench disk.
    let _ = std::fs::remove_dir_all(&zipped.dir);
    let t = Instant::now();
    zcs_backup::full_backup(&paths, &dir, &quiet)
        .await
        .expect("full backup");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "full backup, blobs hard-linked: {secs:.2} s, {:.0} msg/s",
        f64::from(args.messages) / secs
    );

    // 1% change: new messages, then an incremental.
    let changed = (args.messages / 100).max(1);
    let mb = accounts.last().expect("an account");
    for n in 0..changed {
        mb.append(
            ItemId(folder::INBOX),
            &message(args.messages + n, args.size_kib),
            Flags(0),
            1,
        )
        .await
        .expect("append");
    }
    let t = Instant::now();
    let incr = zcs_backup::incremental_backup(&paths, &dir, &quiet)
        .await
        .expect("incremental");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "incremental after {changed} new messages (1%): {secs:.3} s, {} records",
        incr.redo_records
    );

    let (paths2, store2, dir2) = open(&work.join("b")).await;
    let paths2 = BackupPaths {
        target: paths.target.clone(),
        ..paths2
    };
    let ropts = RestoreOptions {
        accounts: vec!["all".into()],
        label: Some(full.label.clone()),
        full_only: true,
        restore_directory: true,
        quiet: true,
        ..RestoreOptions::default()
    };
    let t = Instant::now();
    let rep = zcs_backup::restore(&paths2, &store2, &dir2, &ropts)
        .await
        .expect("restore");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "restore of {} accounts into an empty home: {secs:.2} s, {:.1} MB/s, {:.0} msg/s",
        rep.restored.len(),
        mbs(data, secs),
        f64::from(args.messages) / secs
    );
    store.close().await;
    store2.close().await;
    let _ = std::fs::remove_dir_all(&work);
}
