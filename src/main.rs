use clap::Parser;
use hearsay::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            hearsay::telemetry::init(config.log_format);
            hearsay::serve(config).await
        }
    }
}
