//! `zmvolume`: adds, edits, deletes, lists and sets the current blob/index volumes of
//! this zcs home (the store's `volume` table).
//!
//! Works while the server runs: it writes the volume table directly in the metadata
//! database (`zcs_store_url`: SQLite, which allows a second writer, MariaDB or
//! PostgreSQL) and the table's mirror file, which the running server re-reads on its
//! next blob write or miss. It never touches blobs.

use std::path::PathBuf;
use std::process::ExitCode;

use zcs_server::home::Home;
use zcs_server::hsm_job;
use zcs_server::localconfig::LocalConfig;
use zcs_store::{Volume, VolumeSpec, VolumeType};

const USAGE: &str = "usage: zmvolume {-a|-d|-l|-e|-dc|-sc|-ts} [options]
  -a  --add                   add a volume (-n, -t, -p required)
  -d  --delete                delete volume -id (refused while current or holding blobs)
  -e  --edit                  edit volume -id
  -l  --list                  list volumes (or -id)
  -dc --displayCurrent        show the current volumes
  -sc --setCurrent            make volume -id current for its type
  -ts --turnOffSecondary      leave no secondary volume current (HSM then stops)
  -id --id <arg>              volume id
  -n  --name <arg>            volume name
  -t  --type <arg>            primaryMessage, secondaryMessage or index
  -p  --path <arg>            root path
  -c  --compress <arg>        true or false
  -ct --compressionThreshold  bytes above which blobs are compressed (default 4096)
  -s  --server <arg>          accepted; only this server (localhost) is managed";

fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return if args.is_empty() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
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
    eprintln!("zmvolume: {e}");
    ExitCode::from(1)
}

#[derive(Default)]
struct Args {
    action: Option<&'static str>,
    id: Option<i64>,
    spec: VolumeSpec,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it = args.iter();
    let set_action = |a: &'static str, out: &mut Args| {
        if out.action.is_some_and(|b| b != a) {
            return Err(format!(
                "only one of -a -d -e -l -dc -sc -ts may be given\n{USAGE}"
            ));
        }
        out.action = Some(a);
        Ok(())
    };
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "-a" | "--add" => set_action("add", &mut out)?,
            "-d" | "--delete" => set_action("delete", &mut out)?,
            "-e" | "--edit" => set_action("edit", &mut out)?,
            "-l" | "--list" => set_action("list", &mut out)?,
            "-dc" | "--displayCurrent" => set_action("current", &mut out)?,
            "-sc" | "--setCurrent" => set_action("setcurrent", &mut out)?,
            "-id" | "--id" => {
                let v = value(a)?;
                out.id = Some(v.parse().map_err(|_| format!("bad volume id {v:?}"))?);
            }
            "-n" | "--name" => out.spec.name = Some(value(a)?),
            "-t" | "--type" => {
                let v = value(a)?;
                out.spec.kind = Some(VolumeType::parse(&v).ok_or_else(|| {
                    format!("bad volume type {v:?}: primaryMessage, secondaryMessage or index")
                })?);
            }
            "-p" | "--path" => out.spec.path = Some(PathBuf::from(value(a)?)),
            "-c" | "--compress" => {
                let v = value(a)?;
                out.spec.compress = Some(match v.to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(format!("-c takes true or false, not {v:?}")),
                });
            }
            "-ct" | "--compressionThreshold" => {
                let v = value(a)?;
                out.spec.compression_threshold = Some(
                    v.parse()
                        .map_err(|_| format!("bad compression threshold {v:?}"))?,
                );
            }
            "-s" | "--server" => {
                value(a)?;
            }
            "-ts" | "--turnOffSecondary" => set_action("turnoffsecondary", &mut out)?,
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(out)
}

/// One volume the way Zimbra's `zmvolume -l` prints it.
fn render(v: &Volume) -> String {
    format!(
        "   Volume id: {}\n        name: {}\n        type: {}\n        path: {}\n  \
         compressed: {}\n   threshold: {} bytes\n     current: {}\n\n",
        v.id,
        v.name,
        v.kind.name(),
        v.path.display(),
        v.compress,
        v.compression_threshold,
        v.current
    )
}

async fn run(args: &[String]) -> Result<String, String> {
    let a = parse(args)?;
    let home = Home::from_env().map_err(|e| e.to_string())?;
    let lc = LocalConfig::load(&home).map_err(|e| format!("load local config: {e}"))?;
    let (_db, admin) = hsm_job::store_config(&home, &lc).open_volumes().await?;
    let need_id = || a.id.ok_or_else(|| "-id is required".to_string());
    let e = |e: zcs_store::StoreError| e.to_string();
    match a.action {
        Some("add") => {
            let v = admin.add(&a.spec).await.map_err(e)?;
            Ok(format!("Volume {} is created\n", v.id))
        }
        Some("edit") => {
            let id = need_id()?;
            admin.edit(id, &a.spec).await.map_err(e)?;
            Ok(format!("Volume {id} is modified\n"))
        }
        Some("delete") => {
            let id = need_id()?;
            admin.delete(id).await.map_err(e)?;
            Ok(format!("Deleted volume {id}\n"))
        }
        Some("setcurrent") => {
            let id = need_id()?;
            admin.set_current(id).await.map_err(e)?;
            Ok(format!(
                "Volume {id} is now the current {} volume.\n",
                admin.get(id).await.map_err(e)?.kind.name()
            ))
        }
        Some("list") => {
            let vols = match a.id {
                Some(id) => vec![admin.get(id).await.map_err(e)?],
                None => admin.list().await.map_err(e)?,
            };
            Ok(vols.iter().map(render).collect())
        }
        Some("current") => Ok(admin
            .current()
            .await
            .map_err(e)?
            .iter()
            .map(render)
            .collect()),
        Some("turnoffsecondary") => Ok(match admin.turn_off_secondary().await.map_err(e)? {
            Some(v) => format!("Turned off the current secondary volume {}.\n", v.id),
            None => "There is no current secondary volume.\n".to_string(),
        }),
        _ => Err(format!(
            "one of -a -d -e -l -dc -sc -ts is required\n{USAGE}"
        )),
    }
}
