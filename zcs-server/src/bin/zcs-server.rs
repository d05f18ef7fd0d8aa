//! `zcs-server`: the zcs server process (see [`zcs_server::server_main`]).

fn main() -> std::process::ExitCode {
    zcs_server::server_main::main()
}
