use std::process::ExitCode;

use clap::Parser;
use hearsay::config::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(config) => {
            hearsay::telemetry::init(config.log_format);
            hearsay::serve(*config).await
        }
        Command::Pull(args) => hearsay::models::pull::pull(&args.names, &args.models_dir).await,
        Command::Models(args) => hearsay::models::catalog::list(&args.models_dir).map(|listing| {
            print!("{listing}");
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One readable message with its causes, never a backtrace.
            eprintln!("hearsay: {error:#}");
            ExitCode::FAILURE
        }
    }
}
