//! The `speakup` binary: parses the command line, sets up logging on stderr and runs.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = speakup::cli::Cli::parse();
    speakup::telemetry::init(std::io::stderr, speakup::telemetry::filter());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(speakup::cli::run(cli, &mut stdout)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
