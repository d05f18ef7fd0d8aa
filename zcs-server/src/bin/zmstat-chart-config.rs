//! `zmstat-chart-config`: writes `conf/zmstat-chart.xml`, the list of charts the home's
//! zmstat CSV files give (one per numeric column).

use std::process::ExitCode;

fn main() -> ExitCode {
    let run = || -> Result<String, String> {
        let home = zcs_server::home::Home::from_env().map_err(|e| e.to_string())?;
        let xml = zcs_server::zmstat_chart::config_xml(&home.log().join("zmstat"))?;
        let path = home.conf().join("zmstat-chart.xml");
        std::fs::write(&path, xml).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(format!("wrote {}", path.display()))
    };
    match run() {
        Ok(m) => {
            println!("{m}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("zmstat-chart-config: {e}");
            ExitCode::from(1)
        }
    }
}
