//! Shared set-up for the integration tests: a fresh SQLite directory file in a temporary
//! directory, wrapped in `Provisioning`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use tempfile::TempDir;
use zcs_core::{FaultCode, ServiceResult};
use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};

/// A directory on a real SQLite file; keep `tmp` alive for the test's duration.
pub struct Fixture {
    pub tmp: TempDir,
    pub path: PathBuf,
    pub dir: Arc<SqlDirectory>,
    pub prov: Provisioning,
}

/// A new empty directory file with provisioning on top, local server `mail.test`.
pub async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("directory.db");
    let dir = Arc::new(SqlDirectory::open_sqlite(&path).await.expect("open"));
    let prov = Provisioning::new(dir.clone(), AuthRegistry::new()).with_local_server("mail.test");
    Fixture {
        tmp,
        path,
        dir,
        prov,
    }
}

/// The fault code of a failed result.
pub fn code<T: std::fmt::Debug>(r: ServiceResult<T>) -> FaultCode {
    r.expect_err("expected a fault").code
}
