//! Helpers shared by the integration tests: temporary stores, the message corpus and
//! blob file counting.

#![allow(dead_code)]

pub mod crash;
pub mod engines;

use std::path::{Path, PathBuf};

use zcs_store::{Store, StoreConfig};

/// A store in a fresh temporary directory (kept alive by the returned guard).
pub async fn temp_store() -> (Store, tempfile::TempDir, StoreConfig) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = StoreConfig::under(dir.path());
    let store = Store::open(cfg.clone()).await.expect("open store");
    (store, dir, cfg)
}

/// The shared corpus: `$ZCS_CORPUS`, else `shared/corpus` beside the repository
/// checkout (where CI puts it), else `/work/shared/corpus`.
pub fn corpus_dir() -> PathBuf {
    if let Ok(p) = std::env::var("ZCS_CORPUS") {
        return p.into();
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        manifest.join("../../shared/corpus"),
        manifest.join("../shared/corpus"),
        PathBuf::from("/work/shared/corpus"),
    ];
    candidates
        .into_iter()
        .find(|c| c.join("python-email").is_dir())
        .expect("test corpus not found; set ZCS_CORPUS to the shared/corpus folder")
}

/// Every python-email file (the messages, and the binary attachments as garbage input)
/// plus a few zimbra-qa messages (plain, multipart, charsets, spam), as (name, bytes).
pub fn corpus_messages() -> Vec<(String, Vec<u8>)> {
    let root = corpus_dir();
    let mut out = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(root.join("python-email"))
        .expect("read python-email")
        .map(|e| e.expect("dir entry").path())
        .collect();
    names.sort();
    for qa in [
        "zimbra-qa/email18/email18a",
        "zimbra-qa/spam/spam1.txt",
        "zimbra-qa/zcs-559/mime1.txt",
        "zimbra-qa/junk/junkmail.txt",
        "zimbra-qa/charsets/utf-8-base64-a.txt",
        "zimbra-qa/brokencyrillic/1",
    ] {
        names.push(root.join(qa));
    }
    for p in names {
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
        out.push((p.display().to_string(), bytes));
    }
    out
}

/// Number of blob files (`*.msg`) under `root`.
pub fn count_blob_files(root: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "msg") {
                n += 1;
            }
        }
    }
    n
}

/// A small distinct message.
pub fn simple_message(n: usize) -> Vec<u8> {
    format!(
        "From: Sender {n} <sender{n}@example.com>\r\n\
         To: rcpt@example.com\r\n\
         Subject: message {n}\r\n\
         Message-ID: <m{n}@example.com>\r\n\
         \r\n\
         body {n}\r\n"
    )
    .into_bytes()
}

/// Closes `store`, deletes its database (and WAL files) and opens it again, so the
/// database is rebuilt from the redo log alone; asserts no record failed to replay.
pub async fn reopen_from_log_only(store: Store, cfg: &StoreConfig) -> Store {
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = cfg.db_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let store = Store::open(cfg.clone()).await.unwrap();
    assert_eq!(store.recovery_report().failed, 0);
    store
}
