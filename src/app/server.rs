//! The server pane (F8): the OpenAI-compatible server the dashboard can run beside the chat on the
//! loaded model (started and stopped with one key), its slots, queue, rates and latest requests;
//! and, when the model in use is spread over several machines (a `urls` entry), its nodes.
//!
//! The pane keeps plain rows; `app::handlers::server` folds the serve actor's and the inference
//! actor's reports into them.
use std::collections::VecDeque;

use super::action::Action;
use super::effect::Effect;
use super::outcome::{Ctx, Outcome, Request};
use crate::actors::serve::ServeEvent;

/// Finished requests kept for the list.
pub const RECENT_REQUESTS: usize = 50;
/// Samples of the aggregate token rate kept for the sparkline (one per status report).
pub const RATE_HISTORY: usize = 120;

/// Where the server is.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ServerState {
    #[default]
    Stopped,
    /// Asked to start; waiting for the address.
    Starting,
    Running {
        url: String,
    },
    /// Asked to stop; in-flight requests drain first.
    Stopping,
    Failed(String),
}

/// The slots and counters from the server's latest status report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlotsView {
    pub busy: usize,
    pub parallel: usize,
    pub queued: usize,
    pub requests_total: u64,
    pub generated_tokens_total: u64,
    /// Generated tokens per second over the last report's interval, all slots together.
    pub tokens_per_s: f64,
}

/// One finished request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    pub route: String,
    pub status: u16,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub ms: f64,
    /// "ok", or why it failed (or that the client left).
    pub finish: String,
}

/// One node of a model spread over several machines.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub url: String,
    pub healthy: bool,
    pub in_flight: usize,
    pub requests: u64,
    pub errors: u64,
    pub tokens_per_s: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerPane {
    pub state: ServerState,
    pub slots: SlotsView,
    /// Newest last.
    pub recent: VecDeque<RequestRow>,
    pub rates: VecDeque<f64>,
    /// The nodes of the model in use (empty for a local model).
    pub nodes: Vec<NodeRow>,
    /// The remote model they serve.
    pub cluster_model: Option<String>,
}

impl ServerPane {
    /// One of the pane's actions: it opens or closes, or starts or stops the server.
    pub fn handle(&mut self, action: Action, ctx: &Ctx) -> Outcome {
        match action {
            Action::ToggleServer if ctx.open => Outcome::close(),
            Action::ToggleServer => Outcome::open(),
            Action::ServerStartStop => self.start_stop(ctx),
            _ => Outcome::default(),
        }
    }

    fn start_stop(&mut self, ctx: &Ctx) -> Outcome {
        match &self.state {
            ServerState::Running { .. } => {
                self.state = ServerState::Stopping;
                Outcome::effect(Effect::StopServer)
                    .with_status("stopping the server (in-flight requests finish first)")
            }
            ServerState::Starting | ServerState::Stopping => {
                Outcome::status("the server is changing state; a moment")
            }
            ServerState::Stopped | ServerState::Failed(_) if !ctx.model_loaded => {
                Outcome::status("the server starts on the loaded model: wait for it to load")
            }
            ServerState::Stopped | ServerState::Failed(_) => {
                self.state = ServerState::Starting;
                Outcome {
                    request: Some(Request::StartServer),
                    ..Outcome::status("starting the server")
                }
            }
        }
    }

    pub fn started(&mut self, url: String) {
        self.state = ServerState::Running { url };
    }

    /// Folds one of the serve actor's reports in; returns a message for the status bar, if any.
    pub fn on_event(&mut self, event: ServeEvent) -> Option<String> {
        match event {
            ServeEvent::Started { addr } => {
                let url = format!("http://{addr}");
                self.started(url.clone());
                Some(format!("serving the model at {url}/v1"))
            }
            ServeEvent::Stopped => {
                self.stopped();
                Some("the server stopped".into())
            }
            ServeEvent::Failed(e) => {
                self.failed(e.clone());
                Some(format!("server: {e}"))
            }
            ServeEvent::Status(s) => {
                self.status(SlotsView {
                    busy: s.pool.busy,
                    parallel: s.pool.parallel,
                    queued: s.pool.queued,
                    requests_total: s.pool.requests_total,
                    generated_tokens_total: s.pool.generated_tokens_total,
                    tokens_per_s: s.tokens_per_second,
                });
                None
            }
            ServeEvent::Request(r) => {
                self.finished(RequestRow {
                    route: r.route.to_string(),
                    status: r.status,
                    prompt_tokens: r.prompt_tokens,
                    generated_tokens: r.generated_tokens,
                    ms: r.ms,
                    finish: r.error.unwrap_or_else(|| "ok".into()),
                });
                None
            }
        }
    }

    pub fn stopped(&mut self) {
        self.state = ServerState::Stopped;
        self.slots.busy = 0;
        self.slots.queued = 0;
    }

    pub fn failed(&mut self, error: String) {
        self.state = ServerState::Failed(error);
    }

    pub fn status(&mut self, slots: SlotsView) {
        if self.rates.len() >= RATE_HISTORY {
            self.rates.pop_front();
        }
        self.rates.push_back(slots.tokens_per_s);
        self.slots = slots;
    }

    pub fn finished(&mut self, row: RequestRow) {
        if self.recent.len() >= RECENT_REQUESTS {
            self.recent.pop_front();
        }
        self.recent.push_back(row);
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, ServerState::Running { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::action::Focus;
    use crate::config::keymap::Keymap;

    fn ctx(keymap: &Keymap, open: bool, model_loaded: bool) -> Ctx<'_> {
        Ctx {
            keymap,
            focus: Focus::Server,
            open,
            input: "",
            active_profile: "balanced",
            generating: false,
            engine_idle: model_loaded,
            model_loaded,
            bench_running: false,
        }
    }

    #[test]
    fn the_key_starts_then_stops_and_waits_for_the_model() {
        let km = Keymap::default();
        let mut pane = ServerPane::default();
        let out = pane.handle(Action::ServerStartStop, &ctx(&km, true, false));
        assert!(out.request.is_none(), "no model loaded: nothing to serve");
        assert_eq!(pane.state, ServerState::Stopped);

        let out = pane.handle(Action::ServerStartStop, &ctx(&km, true, true));
        assert_eq!(out.request, Some(Request::StartServer));
        assert_eq!(pane.state, ServerState::Starting);
        let out = pane.handle(Action::ServerStartStop, &ctx(&km, true, true));
        assert!(out.request.is_none(), "no second start while starting");

        pane.started("http://127.0.0.1:8080".into());
        assert!(pane.is_running());
        let out = pane.handle(Action::ServerStartStop, &ctx(&km, true, true));
        assert_eq!(out.effects, vec![Effect::StopServer]);
        assert_eq!(pane.state, ServerState::Stopping);
        pane.stopped();
        let out = pane.handle(Action::ServerStartStop, &ctx(&km, true, true));
        assert_eq!(out.request, Some(Request::StartServer), "starts again");
    }

    #[test]
    fn a_failed_start_can_be_retried_and_lists_are_bounded() {
        let km = Keymap::default();
        let mut pane = ServerPane {
            state: ServerState::Starting,
            ..ServerPane::default()
        };
        pane.failed("address in use".into());
        let out = pane.handle(Action::ServerStartStop, &ctx(&km, true, true));
        assert_eq!(out.request, Some(Request::StartServer));
        for i in 0..RECENT_REQUESTS + 7 {
            pane.finished(RequestRow {
                route: "/v1/chat/completions".into(),
                status: 200,
                prompt_tokens: i,
                generated_tokens: 1,
                ms: 1.0,
                finish: "stop".into(),
            });
            pane.status(SlotsView {
                tokens_per_s: i as f64,
                ..SlotsView::default()
            });
        }
        assert_eq!(pane.recent.len(), RECENT_REQUESTS);
        assert_eq!(
            pane.recent.back().unwrap().prompt_tokens,
            RECENT_REQUESTS + 6
        );
        assert!(pane.rates.len() <= RATE_HISTORY);
    }

    #[test]
    fn the_serve_actors_reports_fold_into_the_pane() {
        use crate::actors::serve::ServeStatus;
        use crate::serve::slots::PoolStatus;
        use crate::serve::RequestRecord;
        let mut pane = ServerPane {
            state: ServerState::Starting,
            ..ServerPane::default()
        };
        let said = pane.on_event(ServeEvent::Started {
            addr: "127.0.0.1:9123".parse().unwrap(),
        });
        assert_eq!(
            said.as_deref(),
            Some("serving the model at http://127.0.0.1:9123/v1")
        );
        assert!(pane.is_running());
        pane.on_event(ServeEvent::Status(ServeStatus {
            addr: None,
            pool: PoolStatus {
                parallel: 4,
                busy: 2,
                queued: 1,
                requests_total: 9,
                prompt_tokens_total: 100,
                generated_tokens_total: 300,
            },
            tokens_per_second: 42.0,
            ok: 8,
            errors: 1,
        }));
        assert_eq!(
            (pane.slots.busy, pane.slots.parallel, pane.slots.queued),
            (2, 4, 1)
        );
        assert_eq!(pane.rates.back(), Some(&42.0));
        pane.on_event(ServeEvent::Request(RequestRecord {
            route: "/v1/completions",
            status: 499,
            stream: true,
            prompt_tokens: 5,
            generated_tokens: 3,
            ms: 10.0,
            error: Some("the client went away".into()),
        }));
        assert_eq!(pane.recent.back().unwrap().finish, "the client went away");
        pane.on_event(ServeEvent::Stopped);
        assert_eq!(pane.state, ServerState::Stopped);
        pane.on_event(ServeEvent::Failed("address in use".into()));
        assert_eq!(pane.state, ServerState::Failed("address in use".into()));
    }

    #[test]
    fn the_toggle_opens_and_closes() {
        let km = Keymap::default();
        let mut pane = ServerPane::default();
        assert!(
            pane.handle(Action::ToggleServer, &ctx(&km, false, true))
                .open
        );
        assert!(
            pane.handle(Action::ToggleServer, &ctx(&km, true, true))
                .close
        );
    }
}
