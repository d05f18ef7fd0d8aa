//! `zmmboxsearch -m <accounts> -q <query> [-o offset] [-l limit] [-d dir]`: cross-mailbox
//! search for discovery (admin guide "Cross Mailbox Search", CLI appendix). Runs one
//! query in Zimbra's grammar over the listed accounts' mailboxes and prints one line per
//! hit, newest first; with `-d`, also saves each hit's message as
//! `RESULTNUM_ACCOUNT-ID_MAILITEMID` in that directory.
//!
//! It takes the home lock and opens the store and index itself, so the server must be
//! stopped.
//!
//! LIMITATION: no online mode (Zimbra's tool asks the running server over SOAP); `-m *`
//! (every account) and `/SERVER/MAILBOXID` forms are not accepted; `-s` is ignored.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use zcs_index::{IndexBackend, TantivyIndex, query};
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;
use zcs_server::search::{MailboxScope, SearchParams, search_mailboxes};
use zcs_store::{Store, StoreConfig};

/// Search several mailboxes with one query.
#[derive(Parser)]
#[command(name = "zmmboxsearch")]
struct Args {
    /// Comma-separated accounts (names, aliases or zimbraIds).
    #[arg(short = 'm', long = "mbox")]
    mbox: String,
    /// The query, in Zimbra's search grammar.
    #[arg(short = 'q', long = "query")]
    query: String,
    /// Hits to skip.
    #[arg(short = 'o', long = "offset", default_value_t = 0)]
    offset: usize,
    /// Most hits to print.
    #[arg(short = 'l', long = "limit", default_value_t = 25)]
    limit: usize,
    /// Directory to save the messages in.
    #[arg(short = 'd', long = "dir")]
    dir: Option<std::path::PathBuf>,
    /// Server to search (only the local one is supported).
    #[arg(short = 's', long = "server")]
    server: Option<String>,
    /// Print more.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zmmboxsearch: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let q = query::parse(&args.query).map_err(|e| format!("mail.QUERY_PARSE_ERROR: {e}"))?;
    let home = Home::from_env().map_err(|e| e.to_string())?;
    let _lock = home
        .lock()
        .map_err(|e| format!("{e} (stop the server first: zmcontrol stop)"))?;
    let lc = LocalConfig::load(&home).map_err(|e| format!("load local config: {e}"))?;
    let path = |key: &str| std::path::PathBuf::from(lc.get(key).unwrap_or_default());
    let prov = zcs_server::bootstrap::open_provisioning(&home)
        .await
        .map_err(|e| e.to_string())?;
    let store = Store::open(StoreConfig {
        db_path: path("zcs_store_db"),
        blob_root: path("zcs_store_volume"),
        redo_dir: path("zcs_redolog_directory"),
    })
    .await
    .map_err(|e| format!("open store: {e}"))?;
    let index: Arc<dyn IndexBackend> = Arc::new(
        TantivyIndex::open(&path("zcs_index_volume")).map_err(|e| format!("open index: {e}"))?,
    );

    let mut scopes = Vec::new();
    let mut ids = Vec::new();
    for key in args
        .mbox
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        let account = prov.get_account(key).await.map_err(|e| e.to_string())?;
        let mailbox = store
            .mailbox(account.id)
            .await
            .map_err(|e| format!("open mailbox of {}: {e}", account.name))?;
        let mut addresses = vec![account.name.clone()];
        addresses.extend(account.attrs.get_all("zimbraMailAlias").iter().cloned());
        ids.push(account.id);
        scopes.push(MailboxScope {
            account: account.name.clone(),
            mailbox,
            addresses,
        });
    }
    if scopes.is_empty() {
        return Err("no account given (-m)".into());
    }

    let params = SearchParams {
        offset: args.offset,
        limit: args.limit,
        include_trash: true,
        include_junk: true,
        ..SearchParams::default()
    };
    let (hits, total) = search_mailboxes(&scopes, &index, &q, &params)
        .await
        .map_err(|e| e.to_string())?;
    if args.verbose {
        println!("{total} hits in {} mailboxes", scopes.len());
    }
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    for (n, hit) in hits.iter().enumerate() {
        let num = args.offset + n + 1;
        let scope = &scopes[hit.scope];
        let m = &hit.message;
        let date = chrono::DateTime::from_timestamp_millis(m.internal_date_ms)
            .map(|d| d.to_rfc2822())
            .unwrap_or_default();
        println!(
            "{num}\t{}\t{}\t{date}\t{}\t{}",
            scope.account, m.id, m.sender, m.subject
        );
        if let Some(dir) = &args.dir {
            let raw = scope
                .mailbox
                .read_message(m.id)
                .await
                .map_err(|e| format!("read {} item {}: {e}", scope.account, m.id))?;
            let file = dir.join(format!("{num}_{}_{}", ids[hit.scope], m.id));
            std::fs::write(&file, raw).map_err(|e| format!("write {}: {e}", file.display()))?;
        }
    }
    store.close().await;
    Ok(())
}
