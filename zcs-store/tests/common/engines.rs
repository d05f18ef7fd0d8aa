//! The engines the metadata conformance suites run on: SQLite always, MariaDB when
//! `ZCS_TEST_MYSQL_URL` is set, PostgreSQL when `ZCS_TEST_POSTGRES_URL` is set. A server
//! test works in a scratch database of its own, created from the URL's server and
//! dropped at the end, so runs never collide; without its variable it skips loudly.

use std::future::Future;

use sqlx::{AssertSqlSafe, Connection};
use zcs_store::db::Backend;
use zcs_store::{Store, StoreConfig, StoreOptions};

/// A server database made for one test; dropped by [`Scratch::drop_db`].
pub struct Scratch {
    admin_url: String,
    name: String,
    backend: Backend,
}

impl Scratch {
    /// Creates `zcs_store_<test>_<random>` on the server `base` names and returns the
    /// URL of the new database.
    pub async fn create(backend: Backend, base: &str, test: &str) -> (Scratch, String) {
        sqlx::any::install_default_drivers();
        let name = format!(
            "zcs_store_{}_{}",
            test,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut conn = sqlx::AnyConnection::connect(base)
            .await
            .unwrap_or_else(|e| panic!("connect to {backend} test server: {e}"));
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        // Same server and credentials, another database.
        let (head, tail) = base.rsplit_once('/').expect("URL with a database");
        let query = tail
            .split_once('?')
            .map(|(_, q)| format!("?{q}"))
            .unwrap_or_default();
        let url = format!("{head}/{name}{query}");
        let scratch = Scratch {
            admin_url: base.to_string(),
            name,
            backend,
        };
        (scratch, url)
    }

    pub async fn drop_db(self) {
        let Ok(mut conn) = sqlx::AnyConnection::connect(&self.admin_url).await else {
            return;
        };
        let force = if self.backend == Backend::Postgres {
            " WITH (FORCE)"
        } else {
            ""
        };
        let _ = sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {}{force}",
            self.name
        )))
        .execute(&mut conn)
        .await;
        conn.close().await.ok();
    }
}

/// Runs `body` on a fresh store of `backend`; skips (with a message) when the server's
/// URL variable is unset.
pub async fn run<F, Fut>(backend: Backend, test: &str, body: F)
where
    F: Fn(Store, StoreConfig, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = StoreConfig::under(dir.path());
    let Some((scratch, url)) = scratch_url(backend, test).await else {
        return;
    };
    let store = Store::open_url(&url, cfg.clone(), StoreOptions::default())
        .await
        .unwrap_or_else(|e| panic!("open {backend} store: {e}"));
    assert_eq!(store.backend(), backend);
    body(store.clone(), cfg, url).await;
    store.close().await;
    if let Some(s) = scratch {
        s.drop_db().await;
    }
}

/// The scratch database URL for `backend` (`None` and a loud skip message when its
/// variable is unset; an empty URL for SQLite, meaning the file in the config).
pub async fn scratch_url(backend: Backend, test: &str) -> Option<(Option<Scratch>, String)> {
    match backend {
        Backend::Sqlite => Some((None, String::new())),
        _ => {
            let var = if backend == Backend::MySql {
                "ZCS_TEST_MYSQL_URL"
            } else {
                "ZCS_TEST_POSTGRES_URL"
            };
            let Ok(base) = std::env::var(var) else {
                eprintln!("SKIPPED {test} on {backend}: {var} is not set");
                return None;
            };
            let (s, url) = Scratch::create(backend, &base, test).await;
            Some((Some(s), url))
        }
    }
}

/// One `#[tokio::test]` per engine for each body: modules `sqlite`, `mariadb` and
/// `postgres`. The calling file must have `run` and `Backend` in scope.
#[macro_export]
macro_rules! conformance {
    ($($body:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $body() {
                super::run(super::Backend::Sqlite, stringify!($body), super::$body).await;
            })*
        }
        mod mariadb {
            $(#[tokio::test]
            async fn $body() {
                super::run(super::Backend::MySql, stringify!($body), super::$body).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $body() {
                super::run(super::Backend::Postgres, stringify!($body), super::$body).await;
            })*
        }
    };
}
