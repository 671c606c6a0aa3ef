//! Tracing to a log file (never to the terminal the dashboard owns), plus, while the dashboard runs,
//! a copy of each event for the log pane.
use std::path::PathBuf;
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Where the log pane's copy of each event goes (set while the dashboard runs).
type PaneSink = Box<dyn Fn(LogLine) + Send + Sync>;

static PANE: OnceLock<PaneSink> = OnceLock::new();

/// One tracing record, forwarded to the log pane (the terminal belongs to the TUI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: tracing::Level,
    pub target: String,
    pub message: String,
}

impl LogLine {
    pub fn new(
        level: tracing::Level,
        target: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            level,
            target: target.into(),
            message: message.into(),
        }
    }
}

/// Where the log file goes: `$GEMMA_TUI_LOG_DIR`, else the XDG state dir (~/.local/state/gemma-tui).
pub fn log_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GEMMA_TUI_LOG_DIR") {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "gemma-tui")
        .map(|d| {
            d.state_dir()
                .unwrap_or_else(|| d.data_local_dir())
                .to_path_buf()
        })
        .unwrap_or_else(|| std::env::temp_dir().join("gemma-tui"))
}

/// Installs the subscriber; keep the guard alive for the program's life so the file is flushed.
pub fn init(filter: Option<&str>) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let filter = filter
        .map(str::to_string)
        .or_else(|| std::env::var("GEMMA_TUI_LOG").ok())
        .unwrap_or_else(|| "info".to_string());
    let dir = log_dir();
    let file = std::fs::create_dir_all(&dir)
        .ok()
        .map(|_| tracing_appender::rolling::never(&dir, "gemma-tui.log"));
    let (writer, guard) = match file {
        Some(f) => {
            let (w, g) = tracing_appender::non_blocking(f);
            (Some(w), Some(g))
        }
        None => (None, None),
    };
    let file_layer = writer.map(|w| {
        tracing_subscriber::fmt::layer()
            .with_writer(w)
            .with_ansi(false)
    });
    let _ = tracing_subscriber::registry()
        .with(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with(file_layer)
        .with(PaneLayer)
        .try_init();
    guard
}

/// From now on, log events also go to `sink` (the dashboard's log pane).
pub fn forward_to_pane(sink: impl Fn(LogLine) + Send + Sync + 'static) {
    let _ = PANE.set(Box::new(sink));
}

struct PaneLayer;

impl<S: Subscriber> Layer<S> for PaneLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let Some(sink) = PANE.get() else { return };
        let mut visitor = MessageVisitor(String::new());
        event.record(&mut visitor);
        let meta = event.metadata();
        sink(LogLine::new(*meta.level(), meta.target(), visitor.0));
    }
}

struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}
