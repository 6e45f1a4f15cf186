//! How `hearsay pull` reaches the hub: `HF_ENDPOINT`, `HF_TOKEN` and the proxy settings.

use std::io::IsTerminal;

/// The host every catalog URL starts with; `HF_ENDPOINT` replaces it.
pub const HF_DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How to reach the hub.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Replaces `https://huggingface.co` in catalog URLs (`HF_ENDPOINT`).
    pub endpoint: Option<String>,
    /// Sent as `Authorization: Bearer` to the hub (`HF_TOKEN`).
    pub token: Option<String>,
    /// Use the `*_PROXY` environment variables (tests turn this off).
    pub use_env_proxy: bool,
    /// Draw progress bars on stderr (only when it is a terminal).
    pub progress_bars: bool,
    /// Print a line per file on stderr.
    pub verbose: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            endpoint: None,
            token: None,
            use_env_proxy: true,
            progress_bars: false,
            verbose: true,
        }
    }
}

impl PullOptions {
    /// `HF_ENDPOINT`, `HF_TOKEN` (or the older `HUGGING_FACE_HUB_TOKEN`), proxies from the
    /// environment, and bars when stderr is a terminal.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`PullOptions::from_env`] with the variables read through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        Self {
            endpoint: non_empty("HF_ENDPOINT"),
            token: non_empty("HF_TOKEN").or_else(|| non_empty("HUGGING_FACE_HUB_TOKEN")),
            use_env_proxy: true,
            progress_bars: std::io::stderr().is_terminal(),
            verbose: true,
        }
    }

    /// The hub's base URL, without a trailing slash.
    pub(super) fn hub(&self) -> &str {
        self.endpoint
            .as_deref()
            .unwrap_or(HF_DEFAULT_ENDPOINT)
            .trim_end_matches('/')
    }

    /// `url` with `https://huggingface.co` replaced by the endpoint.
    pub fn resolve_url(&self, url: &str) -> String {
        match url.strip_prefix(HF_DEFAULT_ENDPOINT) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                format!("{}{rest}", self.hub())
            }
            _ => url.to_owned(),
        }
    }

    /// Whether `url` (already resolved) goes to the hub, which is the only host given the token.
    pub(super) fn is_hub(&self, url: &str) -> bool {
        url.strip_prefix(self.hub())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_replaces_the_hub_and_only_the_hub_gets_the_token() {
        let options = PullOptions::from_lookup(|name| match name {
            "HF_ENDPOINT" => Some("http://mirror.local:8080/".into()),
            "HF_TOKEN" => Some(" hf_secret\n".into()),
            _ => None,
        });
        assert_eq!(options.token.as_deref(), Some("hf_secret"));
        let url = options.resolve_url("https://huggingface.co/org/repo/resolve/abc/f.bin");
        assert_eq!(url, "http://mirror.local:8080/org/repo/resolve/abc/f.bin");
        assert!(options.is_hub(&url));
        assert!(!options.is_hub("https://huggingface.co/org/repo/resolve/abc/f.bin"));
        assert!(!options.is_hub("http://mirror.local:8080.evil/x"));
        assert_eq!(
            options.resolve_url("https://huggingface.com/x"),
            "https://huggingface.com/x"
        );

        let plain = PullOptions::from_lookup(|name| {
            (name == "HUGGING_FACE_HUB_TOKEN").then(|| "old".to_string())
        });
        assert_eq!(plain.token.as_deref(), Some("old"));
        assert!(plain.is_hub("https://huggingface.co/x"));
        assert_eq!(
            plain.resolve_url("https://huggingface.co/x"),
            "https://huggingface.co/x"
        );
        let empty = PullOptions::from_lookup(|_| Some(String::new()));
        assert!(empty.endpoint.is_none() && empty.token.is_none());
    }
}
