use std::process::ExitCode;

use hearsay::config::{Command, LoadError};

#[tokio::main]
async fn main() -> ExitCode {
    let loaded = match hearsay::config::load(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(LoadError::Usage(error)) => error.exit(),
        Err(error) => {
            eprintln!("hearsay: {error}");
            return ExitCode::from(2);
        }
    };
    if let Command::Serve(config) = &loaded.cli.command
        && config.print_config
    {
        print!("{}", loaded.describe_serve().unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let result = match loaded.cli.command {
        Command::Serve(config) => {
            hearsay::telemetry::init(config.log_format);
            hearsay::serve(*config).await
        }
        Command::Pull(args) if args.if_missing => {
            hearsay::models::pull::pull_missing(&args.names, &args.models_dir).await
        }
        Command::Pull(args) => hearsay::models::pull::pull(&args.names, &args.models_dir).await,
        Command::Convert(args) => tokio::task::spawn_blocking(move || {
            hearsay::models::convert::run(&args.source, &args.output)
        })
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the conversion panicked"))),
        Command::Models(args) => {
            hearsay::models::listing::list(&args.models_dir, args.convert_cache.as_deref()).map(
                |listing| {
                    print!("{listing}");
                },
            )
        }
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
